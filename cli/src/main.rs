//! The `kappa` binary: parses arguments and hands off to `cmd::<name>::run`.
fn main() {
    println!("kappa");
}
