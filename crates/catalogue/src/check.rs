//! Checks for a program's tests: every key in every catalogue, no markup, and every key the code uses
//! exists. Each program calls them from a test of its own, on its own files.

use std::collections::BTreeSet;
use std::path::PathBuf;

use fluent_syntax::ast::Entry;

use crate::Language;

/// The keys (messages and `-terms`) of a catalogue's source.
pub fn keys(source: &str) -> BTreeSet<String> {
    let resource = fluent_syntax::parser::parse(source).unwrap_or_else(|(_, errors)| panic!("does not parse: {errors:?}"));
    resource
        .body
        .iter()
        .filter_map(|entry| match entry {
            Entry::Message(message) => Some(message.id.name.to_owned()),
            Entry::Term(term) => Some(format!("-{}", term.id.name)),
            _ => None,
        })
        .collect()
}

/// Panics unless every language's catalogue has exactly the English keys (at least `at_least` of
/// them) and holds no markup.
pub fn same_keys_and_no_markup(name: &str, source: fn(Language) -> &'static str, at_least: usize) {
    let english = keys(source(Language::English));
    assert!(english.len() >= at_least, "{name}/en.ftl looks empty");
    for language in Language::ALL {
        let text = source(language);
        assert!(!text.contains('<'), "{name}/{language}.ftl holds markup: messages are plain text");
        let other = keys(text);
        let missing: Vec<_> = english.difference(&other).collect();
        let extra: Vec<_> = other.difference(&english).collect();
        assert!(missing.is_empty(), "{name}/{language}.ftl lacks {missing:?}");
        assert!(extra.is_empty(), "{name}/{language}.ftl has keys English lacks: {extra:?}");
    }
}

/// A message the code uses: its key and the file it is used in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Use {
    pub key: String,
    pub file: String,
    /// Shown with emphasis (a `rich…` call), where `*stars*` mean bold.
    pub rich: bool,
}

/// Every `.t("…")`-like call (`calls`: the method names, e.g. `["t", "t1", "rich"]`; a name starting
/// with `rich` shows emphasis) in the files below `folders`.
pub fn uses(folders: &[PathBuf], calls: &[&str]) -> BTreeSet<Use> {
    let mut found = BTreeSet::new();
    let mut stack = folders.to_vec();
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap_or_else(|e| panic!("{}: {e}", dir.display())).path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for call in calls {
                let opening = format!(".{call}(\"");
                for (at, _) in text.match_indices(&opening) {
                    let rest = &text[at + opening.len()..];
                    if let Some(end) = rest.find('"') {
                        let key = rest[..end].to_owned();
                        found.insert(Use { key, file: path.display().to_string(), rich: call.starts_with("rich") });
                    }
                }
            }
        }
    }
    found
}

/// Panics when a used key is in no catalogue, or when a message with `*emphasis*` is shown as plain
/// text (its stars would show). `shown(language, key)` is the message as the program formats it.
pub fn used_keys_exist(uses: &BTreeSet<Use>, source: fn(Language) -> &'static str, shown: impl Fn(Language, &str) -> String) {
    let english = keys(source(Language::English));
    let unknown: Vec<_> = uses.iter().filter(|u| !english.contains(&u.key)).collect();
    assert!(unknown.is_empty(), "keys used but in no catalogue: {unknown:?}");
    for language in Language::ALL {
        let starred: Vec<_> = uses.iter().filter(|u| !u.rich && shown(language, &u.key).contains('*')).collect();
        assert!(starred.is_empty(), "{language}: messages with *emphasis* shown as plain text: {starred:?}");
    }
}
