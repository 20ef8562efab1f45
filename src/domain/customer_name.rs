use std::fmt;

use super::free_text::{HiddenCharacter, refuse_hidden};

/// Longest customer name, in characters (the `customers` table checks it too).
const MAX_CHARS: usize = 200;

/// A customer's name as staff typed it, trimmed: 1 to 200 characters, every one of them visible. It is
/// shown on the customer's pages, in e-mails and on the dashboard, so it must read as it is stored.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CustomerName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomerNameError {
    #[error("the customer's name must have 1 to {MAX_CHARS} characters")]
    Length,
    #[error(transparent)]
    Hidden(#[from] HiddenCharacter),
}

impl CustomerName {
    pub fn parse(value: &str) -> Result<Self, CustomerNameError> {
        let value = value.trim();
        refuse_hidden("the customer's name", value)?;
        if value.is_empty() || value.chars().count() > MAX_CHARS {
            return Err(CustomerNameError::Length);
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CustomerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CustomerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CustomerName({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_keeps_visible_names() {
        assert_eq!(CustomerName::parse("  Contoso Ltd ").unwrap().as_str(), "Contoso Ltd");
        assert_eq!(CustomerName::parse("Società Rossi S.p.A.").unwrap().to_string(), "Società Rossi S.p.A.");
        assert!(CustomerName::parse(&"é".repeat(200)).is_ok(), "200 characters, not bytes");
    }

    #[test]
    fn refuses_empty_long_and_hidden_characters() {
        assert_eq!(CustomerName::parse("   "), Err(CustomerNameError::Length));
        assert_eq!(CustomerName::parse(&"x".repeat(201)), Err(CustomerNameError::Length));
        for bad in ["Contoso\u{202E}gnp.exe", "\u{2067}Contoso", "Con\u{200B}toso", "Contoso\nBcc: x", "Contoso\u{FEFF}"] {
            let error = CustomerName::parse(bad).unwrap_err();
            assert!(matches!(error, CustomerNameError::Hidden(_)), "{bad:?}");
            assert!(error.to_string().starts_with("the customer's name holds U+"), "{error}");
        }
    }

    #[test]
    fn a_hidden_character_at_either_end_is_refused_not_trimmed() {
        // `trim` removes only white space; an invisible mark at the end must not slip through.
        assert!(CustomerName::parse("Contoso\u{200F}").is_err());
        assert!(CustomerName::parse("\u{061C}Contoso").is_err());
    }
}
