//! kappa's SQL dialect: generic SQL plus Flink's `CREATE TABLE` shape, parsed through
//! sqlparser's `Dialect::parse_statement` hook (never by rewriting the SQL text):
//! `CREATE TABLE t (col TYPE, ..., WATERMARK FOR col AS col - INTERVAL '5' SECOND)
//! WITH ('key' = 'value', ...)`. The WATERMARK clause has no place in sqlparser's AST, so the
//! dialect records it beside the statement, in `watermarks()`.

use std::cell::RefCell;

use sqlparser::ast::helpers::stmt_create_table::CreateTableBuilder;
use sqlparser::ast::{
    ColumnDef, CreateTableOptions, DataType, Expr, Ident, ObjectName, SqlOption, Statement,
    TrimWhereField,
};
use sqlparser::dialect::Dialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

use crate::sql::tvf::TABLE_REF;

/// A `WATERMARK FOR <column> AS <expr>` clause of the CREATE TABLE named `table`.
#[derive(Debug, Clone)]
pub struct WatermarkClause {
    pub table: String,
    pub column: Ident,
    pub expr: Expr,
}

/// A `PRIMARY KEY (<columns>) NOT ENFORCED` clause of the CREATE TABLE named `table`.
#[derive(Debug, Clone)]
pub struct PrimaryKeyClause {
    pub table: String,
    pub columns: Vec<Ident>,
}

#[derive(Debug, Default)]
pub struct KappaDialect {
    watermarks: RefCell<Vec<WatermarkClause>>,
    primary_keys: RefCell<Vec<PrimaryKeyClause>>,
}

impl KappaDialect {
    pub fn watermarks(&self) -> Vec<WatermarkClause> {
        self.watermarks.borrow().clone()
    }

    pub fn primary_keys(&self) -> Vec<PrimaryKeyClause> {
        self.primary_keys.borrow().clone()
    }

    /// `PRIMARY KEY (a, b) NOT ENFORCED`, after `PRIMARY`: Flink accepts only NOT ENFORCED
    /// (nothing checks uniqueness; the key says how a changelog's rows replace each other).
    fn primary_key(&self, parser: &mut Parser, table: &ObjectName) -> Result<(), ParserError> {
        parser.expect_keyword_is(Keyword::KEY)?;
        parser.expect_token(&Token::LParen)?;
        let mut columns = vec![parser.parse_identifier()?];
        while parser.consume_token(&Token::Comma) {
            columns.push(parser.parse_identifier()?);
        }
        parser.expect_token(&Token::RParen)?;
        if !parser.parse_keywords(&[Keyword::NOT, Keyword::ENFORCED]) {
            return parser.expected(
                "NOT ENFORCED after PRIMARY KEY (...) (uniqueness is not checked)",
                parser.peek_token(),
            );
        }
        self.primary_keys.borrow_mut().push(PrimaryKeyClause {
            table: table.to_string(),
            columns,
        });
        Ok(())
    }

    fn create_table(&self, parser: &mut Parser) -> Result<Statement, ParserError> {
        parser.expect_keyword_is(Keyword::CREATE)?;
        parser.expect_keyword_is(Keyword::TABLE)?;
        let if_not_exists = parser.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
        let name = parser.parse_object_name(false)?;
        parser.expect_token(&Token::LParen)?;
        let mut columns = Vec::new();
        loop {
            let is_watermark = matches!(&parser.peek_token().token, Token::Word(w) if w.value.eq_ignore_ascii_case("WATERMARK"));
            if parser.parse_keyword(Keyword::PRIMARY) {
                self.primary_key(parser, &name)?;
            } else if is_watermark {
                parser.next_token();
                parser.expect_keyword_is(Keyword::FOR)?;
                let column = parser.parse_identifier()?;
                parser.expect_keyword_is(Keyword::AS)?;
                let expr = parser.parse_expr()?;
                self.watermarks.borrow_mut().push(WatermarkClause {
                    table: name.to_string(),
                    column,
                    expr,
                });
            } else if let Some(column) = nested_type_column(parser)? {
                columns.push(column);
            } else {
                columns.push(parser.parse_column_def()?);
            }
            if !parser.consume_token(&Token::Comma) {
                parser.expect_token(&Token::RParen)?;
                break;
            }
        }
        let mut options = Vec::new();
        if parser.parse_keyword(Keyword::WITH) {
            parser.expect_token(&Token::LParen)?;
            loop {
                let key = string_literal(parser)?;
                parser.expect_token(&Token::Eq)?;
                let value = parser.parse_expr()?;
                options.push(SqlOption::KeyValue {
                    key: Ident::with_quote('\'', key),
                    value,
                });
                if !parser.consume_token(&Token::Comma) {
                    parser.expect_token(&Token::RParen)?;
                    break;
                }
            }
        }
        Ok(CreateTableBuilder::new(name)
            .if_not_exists(if_not_exists)
            .columns(columns)
            .table_options(CreateTableOptions::With(options))
            .build())
    }
}

/// Flink's nested column types (`ROW<city STRING>`, `ROW(city STRING)`, `MAP<..>`,
/// `ARRAY<..>`), which sqlparser's generic type parser does not know: the column becomes
/// `DataType::Custom("ROW")` (a nested JSON value whose fields are read by path).
fn nested_type_column(parser: &mut Parser) -> Result<Option<ColumnDef>, ParserError> {
    let is_nested = matches!(&parser.peek_nth_token(1).token, Token::Word(w)
        if ["ROW", "MAP", "ARRAY", "MULTISET"].iter().any(|k| w.value.eq_ignore_ascii_case(k)))
        && matches!(parser.peek_nth_token(2).token, Token::Lt | Token::LParen);
    if !is_nested {
        return Ok(None);
    }
    let name = parser.parse_identifier()?;
    let kind = parser.parse_identifier()?;
    let mut depth = 0i32;
    loop {
        let t = parser.next_token();
        depth += match t.token {
            Token::Lt | Token::LParen => 1,
            Token::Gt | Token::RParen => -1,
            Token::ShiftRight => -2,
            Token::EOF => return parser.expected("the end of the nested type", t),
            _ => 0,
        };
        if depth <= 0 {
            break;
        }
    }
    let data_type = DataType::Custom(
        ObjectName::from(vec![Ident::new(kind.value.to_ascii_uppercase())]),
        vec![],
    );
    Ok(Some(ColumnDef {
        name,
        data_type,
        options: vec![],
    }))
}

/// `TRIM(LEADING FROM s)` (and TRAILING, BOTH): Flink's form without the characters, which
/// trims spaces; sqlparser expects the characters there.
fn trim_without_characters(parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
    let word = |n: usize, k: Keyword| matches!(&parser.peek_nth_token(n).token, Token::Word(w) if w.keyword == k);
    let side = [
        (Keyword::LEADING, TrimWhereField::Leading),
        (Keyword::TRAILING, TrimWhereField::Trailing),
        (Keyword::BOTH, TrimWhereField::Both),
    ]
    .into_iter()
    .find(|(k, _)| word(2, *k))
    .map(|(_, side)| side)?;
    if !(word(0, Keyword::TRIM)
        && parser.peek_nth_token(1).token == Token::LParen
        && word(3, Keyword::FROM))
    {
        return None;
    }
    for _ in 0..4 {
        parser.next_token();
    }
    Some(parser.parse_expr().and_then(|expr| {
        parser.expect_token(&Token::RParen)?;
        Ok(Expr::Trim {
            expr: Box::new(expr),
            trim_where: Some(side),
            trim_what: None,
            trim_characters: None,
        })
    }))
}

fn string_literal(parser: &mut Parser) -> Result<String, ParserError> {
    let t = parser.next_token();
    match t.token {
        Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => Ok(s),
        Token::Word(w) => Ok(w.value),
        other => parser.expected(
            "an option name in quotes",
            sqlparser::tokenizer::TokenWithSpan::wrap(other),
        ),
    }
}

impl Dialect for KappaDialect {
    fn is_identifier_start(&self, ch: char) -> bool {
        ch.is_alphabetic() || ch == '_' || ch == '#' || ch == '@'
    }
    fn is_identifier_part(&self, ch: char) -> bool {
        ch.is_alphabetic()
            || ch.is_ascii_digit()
            || ch == '@'
            || ch == '$'
            || ch == '#'
            || ch == '_'
    }
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '"' || ch == '`'
    }
    fn supports_group_by_expr(&self) -> bool {
        true
    }
    /// `TABLE orders` as an argument of a window table function (`TUMBLE(TABLE orders, ...)`)
    /// reads as the call `__TABLE_REF(orders)`, which `sql::tvf` takes apart.
    fn parse_prefix(&self, parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
        if let Some(trim) = trim_without_characters(parser) {
            return Some(trim);
        }
        let is_table_ref = parser.peek_keyword(Keyword::TABLE)
            && matches!(&parser.peek_nth_token(1).token, Token::Word(_));
        if !is_table_ref {
            return None;
        }
        parser.next_token();
        Some(parser.parse_object_name(false).and_then(|name| {
            Parser::new(self)
                .try_with_sql(&format!("{TABLE_REF}({name})"))?
                .parse_expr()
        }))
    }
    fn supports_timestamp_versioning(&self) -> bool {
        // `JOIN rates FOR SYSTEM_TIME AS OF o.ts`: Flink's event-time temporal join.
        true
    }
    fn parse_statement(&self, parser: &mut Parser) -> Option<Result<Statement, ParserError>> {
        if parser.peek_keyword(Keyword::CREATE)
            && matches!(&parser.peek_nth_token(1).token, Token::Word(w) if w.keyword == Keyword::TABLE)
        {
            return Some(self.create_table(parser));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flink_create_table_with_watermark_parses() {
        let sql = "CREATE TABLE orders (order_id STRING, total DOUBLE, ts TIMESTAMP(3),
          WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH ('connector' = 'kappa', 'topic' = 'order-events')";
        let d = KappaDialect::default();
        let stmts = Parser::parse_sql(&d, sql).unwrap();
        assert_eq!(stmts.len(), 1);
        let w = d.watermarks();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].column.value, "ts");
        assert_eq!(w[0].expr.to_string(), "ts - INTERVAL '5' SECOND");
        let Statement::CreateTable(ct) = &stmts[0] else {
            panic!("not a create table")
        };
        assert_eq!(ct.columns.len(), 3);
    }
}
