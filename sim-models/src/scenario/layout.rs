//! Writing a scenario table back as a file laid out like the hand-written ones.
//!
//! `toml::to_string` gives valid TOML but not a scenario a person would write: a fault's value
//! comes out as a sub-table (`[faults.clock_jump]` under its `[[faults]]`), an expectation's
//! bounds as `[expect."availability.c1"]`. The shipped scenarios put the plain keys first
//! (`name`, `description`, `seed`, `duration`, …), then the sections in a fixed order with
//! `[expect]` last, and give each fault one `[[faults]]` table holding `at` and its action
//! inline (`clock_jump = { node = "c1", by = "-2s" }`). [`render`] lays a table out that way;
//! `--print-config` and the reproducers of `dsim shrink` use it.
//!
//! Keys inside a section keep the table's order, which is the order of the structs they were
//! serialised from (the workspace builds `toml` with `preserve_order`): `at` before the
//! action, `node` before `by`, `name`, `model`, `nodes` before a model's own keys.

use toml::Table;
use toml_edit::{DocumentMut, Item};

/// The top-level keys in the order the shipped scenarios use; any other key follows them.
pub const ORDER: [&str; 15] = [
    "name",
    "description",
    "seed",
    "duration",
    "trace",
    "bugs",
    "limits",
    "network",
    "clocks",
    "cluster",
    "faults",
    "nemesis",
    "liveness",
    "swarm",
    "expect",
];

/// `table` as the text of a scenario file: the keys of [`ORDER`] first and in that order,
/// every `[[faults]]` action and every `[expect]` entry inline. `note`, when not empty, is
/// written as `#` comment lines just after the `description` (before the key that follows
/// it): the place for what a reader should know that the scenario itself does not say.
pub fn render(table: &Table, note: &str) -> String {
    let mut ordered = Table::new();
    for key in ORDER {
        if let Some(v) = table.get(key) {
            ordered.insert(key.into(), v.clone());
        }
    }
    for (k, v) in table {
        if !ordered.contains_key(k) {
            ordered.insert(k.clone(), v.clone());
        }
    }
    let text = toml::to_string(&ordered).unwrap_or_default();
    // Text that `toml` wrote always parses; should it not, the plain layout is still valid.
    let Ok(mut doc) = text.parse::<DocumentMut>() else {
        return text;
    };
    if let Some(faults) = doc.get_mut("faults").and_then(Item::as_array_of_tables_mut) {
        for fault in faults.iter_mut() {
            inline_children(fault);
        }
    }
    if let Some(expect) = doc.get_mut("expect").and_then(Item::as_table_mut) {
        inline_children(expect);
    }
    if !note.trim().is_empty() {
        set_note(&mut doc, note);
    }
    doc.to_string()
}

/// Turns the sub-tables (and arrays of tables) of `table` into inline values.
fn inline_children(table: &mut toml_edit::Table) {
    for (mut key, item) in table.iter_mut() {
        if item.is_table() || item.is_array_of_tables() {
            item.make_value();
            // The key kept the spacing of a table header (`[expect."x"]`): back to ` = `.
            key.leaf_decor_mut().clear();
        }
    }
}

/// Puts `note` as comment lines after the description: before the next plain key, or before
/// the description itself when no plain key follows it.
fn set_note(doc: &mut DocumentMut, note: &str) {
    let comment: String = note
        .trim_end()
        .lines()
        .map(|l| {
            // A comment may not hold control characters other than tab: write them escaped.
            let l: String = l
                .chars()
                .map(|c| match c {
                    '\t' => c.to_string(),
                    c if c.is_control() => c.escape_default().to_string(),
                    c => c.to_string(),
                })
                .collect();
            if l.trim().is_empty() {
                "#\n".to_owned()
            } else {
                format!("# {l}\n")
            }
        })
        .collect();
    let keys: Vec<String> = doc.iter().map(|(k, _)| k.to_owned()).collect();
    let after = keys
        .iter()
        .position(|k| k == "description")
        .and_then(|i| keys.get(i + 1))
        .filter(|k| doc.get(k).is_some_and(Item::is_value));
    let target = after.map_or("description", String::as_str);
    if let Some(mut key) = doc.key_mut(target) {
        key.leaf_decor_mut().set_prefix(comment);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        toml::from_str(text).expect("valid TOML")
    }

    #[test]
    fn faults_and_expectations_are_inline_and_sections_in_order() {
        let t = table(
            r#"
            duration = "5s"
            name = "n"
            [expect]
            "availability.c1" = { min = 0.5, max = 0.9 }
            [[faults]]
            at = "1s"
            clock_jump = { node = "c1", by = "-2s" }
            [[faults]]
            at = "2s"
            partition = [["a"], ["b"]]
            [[cluster]]
            name = "c"
            model = "pinger"
            "#,
        );
        let text = render(&t, "");
        assert!(!text.contains("[faults."), "{text}");
        assert!(!text.contains("[expect."), "{text}");
        assert!(
            text.contains("clock_jump = { node = \"c1\", by = \"-2s\" }"),
            "{text}"
        );
        assert!(
            text.contains("\"availability.c1\" = { min = 0.5, max = 0.9 }"),
            "{text}"
        );
        let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s} in {text}"));
        assert!(at("name =") < at("duration ="));
        assert!(at("[[cluster]]") < at("[[faults]]"));
        assert!(at("[[faults]]") < at("[expect]"));
        assert_eq!(toml::from_str::<Table>(&text).expect("parses"), t);
    }

    #[test]
    fn a_note_goes_after_the_description_as_comments() {
        let t = table("name = \"n\"\ndescription = \"new\"\nseed = 3\n");
        let text = render(&t, "was:\n\nold words\u{7}");
        assert_eq!(
            text,
            "name = \"n\"\ndescription = \"new\"\n# was:\n#\n# old words\\u{7}\nseed = 3\n"
        );
        assert_eq!(toml::from_str::<Table>(&text).expect("parses"), t);
    }
}
