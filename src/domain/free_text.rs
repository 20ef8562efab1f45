//! Text that people type and other people read: customer names, e-mail display names, domains, the
//! partner's name. Such text must read as it is stored. Bidirectional controls (U+202E shows
//! "Contoso" + U+202E + "gnp.exe" as "Contosoexe.png") and other invisible characters let a name look
//! like another, hide part of it, or reorder what follows it on a page or in an e-mail, so they are
//! refused wherever text comes in: the staff pages, the JSON API, the command line, the configuration.

use std::fmt;

/// Characters of Unicode's "format" category (Cf, Unicode 15.1): invisible, and many of them change
/// how the text around them is shown (the bidirectional embeddings, overrides, isolates and marks
/// among them: U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069).
const FORMAT_CHARACTERS: &[(char, char)] = &[
    ('\u{00AD}', '\u{00AD}'),
    ('\u{0600}', '\u{0605}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{06DD}', '\u{06DD}'),
    ('\u{070F}', '\u{070F}'),
    ('\u{0890}', '\u{0891}'),
    ('\u{08E2}', '\u{08E2}'),
    ('\u{180E}', '\u{180E}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFF9}', '\u{FFFB}'),
    ('\u{110BD}', '\u{110BD}'),
    ('\u{110CD}', '\u{110CD}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0001}', '\u{E0001}'),
    ('\u{E0020}', '\u{E007F}'),
];

/// Does `c` change the direction of the text around it?
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Is `c` a character a reader cannot see: a control character (C0, DEL, C1), a format character,
/// or a line or paragraph separator?
pub fn is_hidden(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || FORMAT_CHARACTERS.iter().any(|(first, last)| (*first..=*last).contains(&c))
}

/// Free text that holds a character a reader cannot see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct HiddenCharacter {
    /// What the text is, in the words of the message ("the customer's name").
    pub field: &'static str,
    pub character: char,
}

impl fmt::Display for HiddenCharacter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = format!("U+{:04X}", u32::from(self.character));
        let what = if is_bidi_control(self.character) { ", an invisible character that changes the direction of the text" } else { "" };
        write!(f, "{} holds {code}{what}: control characters and invisible formatting characters are not allowed", self.field)
    }
}

/// Refuses `value` when it holds a character a reader cannot see.
pub fn refuse_hidden(field: &'static str, value: &str) -> Result<(), HiddenCharacter> {
    match value.chars().find(|c| is_hidden(*c)) {
        Some(character) => Err(HiddenCharacter { field, character }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bidi_control_is_hidden_and_named_as_such() {
        let bidi = ['\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}'];
        for c in bidi.into_iter().chain('\u{2066}'..='\u{2069}') {
            let error = refuse_hidden("the name", &format!("Contoso{c}Ltd")).unwrap_err();
            assert_eq!(error.character, c);
            assert!(error.to_string().contains("direction"), "{error}");
            assert!(error.to_string().starts_with("the name holds U+"), "{error}");
        }
        let error = refuse_hidden("the name", "Contoso\u{202E}gnp.exe").unwrap_err();
        assert!(error.to_string().contains("U+202E"), "{error}");
    }

    #[test]
    fn other_invisible_characters_are_hidden_too() {
        for c in [
            '\0',
            '\t',
            '\n',
            '\r',
            '\u{7F}',
            '\u{85}',
            '\u{9F}',
            '\u{AD}',
            '\u{200B}',
            '\u{200D}',
            '\u{2028}',
            '\u{2029}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{E0041}',
        ] {
            let error = refuse_hidden("the name", &format!("a{c}b")).unwrap_err();
            assert_eq!(error.character, c);
            assert!(error.to_string().contains("control characters and invisible formatting characters are not allowed"), "{c:?}: {error}");
            assert!(!error.to_string().contains("direction"), "{c:?}: {error}");
        }
    }

    #[test]
    fn visible_text_in_any_script_passes() {
        for ok in [
            "Contoso Ltd",
            "Società Rossi & Figli S.p.A.",
            "شركة كونتوسو",
            "עברית בע\"מ",
            "株式会社コントソ",
            "Zürich AG",
            "O'Brien – Müller",
            "a b",
        ] {
            assert_eq!(refuse_hidden("the name", ok), Ok(()), "{ok}");
        }
    }
}
