//! SASL/PLAIN over SaslHandshake (v1) and SaslAuthenticate: the password is one of the server's
//! `--token`s (the user name is not checked), so Kafka clients use the same tokens as HTTP.

use kafka_protocol::messages::{
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::ResponseError;

use super::kstr;

/// Answers a handshake; `true` when the client asked for PLAIN.
pub fn handshake(r: &SaslHandshakeRequest) -> (SaslHandshakeResponse, bool) {
    let mut resp = SaslHandshakeResponse::default();
    resp.mechanisms = vec![kstr("PLAIN")];
    let ok = r.mechanism.as_str() == "PLAIN";
    if !ok {
        resp.error_code = ResponseError::UnsupportedSaslMechanism.code();
    }
    (resp, ok)
}

/// Checks PLAIN credentials (`authzid NUL user NUL password`); `true` when the password is a token.
pub fn authenticate(
    tokens: &[String],
    r: &SaslAuthenticateRequest,
) -> (SaslAuthenticateResponse, bool) {
    let mut resp = SaslAuthenticateResponse::default();
    let ok = password(&r.auth_bytes).is_some_and(|p| tokens.iter().any(|t| t.as_bytes() == p));
    if !ok {
        resp.error_code = ResponseError::SaslAuthenticationFailed.code();
        resp.error_message = Some(kstr(
            "SASL/PLAIN authentication failed: the password must be one of the server's tokens",
        ));
    }
    (resp, ok)
}

fn password(auth: &[u8]) -> Option<&[u8]> {
    let mut parts = auth.splitn(3, |b| *b == 0);
    let (_authzid, _user, password) = (parts.next()?, parts.next()?, parts.next()?);
    Some(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_accepts_a_token_as_password_and_refuses_anything_else() {
        let tokens = vec!["s3cret".to_string()];
        let mut r = SaslAuthenticateRequest::default();
        r.auth_bytes = bytes::Bytes::from_static(b"\0kappa\0s3cret");
        assert!(authenticate(&tokens, &r).1);
        r.auth_bytes = bytes::Bytes::from_static(b"\0kappa\0wrong");
        let (resp, ok) = authenticate(&tokens, &r);
        assert!(!ok);
        assert_eq!(
            resp.error_code,
            ResponseError::SaslAuthenticationFailed.code()
        );
        r.auth_bytes = bytes::Bytes::from_static(b"s3cret");
        assert!(!authenticate(&tokens, &r).1);
    }
}
