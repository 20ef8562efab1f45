//! E-mail addresses as people type them: a customer's contact, a staff recipient.

use lettre::Address;

use super::free_text::refuse_hidden;

/// An e-mail address as typed, checked with lettre's parser (one address, no name, no line break, no
/// invisible character).
pub fn parse_address(value: &str) -> Result<Address, String> {
    let value = value.trim();
    refuse_hidden("the e-mail address", value).map_err(|e| e.to_string())?;
    value.parse::<Address>().map_err(|_| format!("{value:?} is not an e-mail address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_by_lettre() {
        assert!(parse_address("it@contoso.example").is_ok());
        for bad in [
            "not an address",
            "a@b\r\nBcc: x@y.example",
            "<b>@x.example",
            "a@",
            "@b.example",
            "a b@c.example",
            "it@contoso\u{202E}elpmaxe.",
            "i\u{200B}t@contoso.example",
        ] {
            assert!(parse_address(bad).is_err(), "{bad}");
        }
    }
}
