//! A string interner: labels, keys and values repeat millions of times in a trace, so events
//! store small ids and the strings live once here.

use std::collections::HashMap;

/// Id of an interned string; [`NONE`] means "no string".
pub type Sym = u32;

/// The id that stands for "no string".
pub const NONE: Sym = u32::MAX;

/// Interned strings, each stored once; ids are handed out in first-seen order.
#[derive(Clone, Debug, Default)]
pub struct Interner {
    strings: Vec<Box<str>>,
    // Only looked up, never iterated: the id order is the Vec's.
    ids: HashMap<Box<str>, Sym>,
}

impl Interner {
    /// The id of `s`, adding it if new.
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.strings.len() as Sym;
        self.strings.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    /// The id of `s` if it was interned.
    pub fn find(&self, s: &str) -> Option<Sym> {
        self.ids.get(s).copied()
    }

    /// The string of `id` (empty for [`NONE`] or an unknown id).
    pub fn get(&self, id: Sym) -> &str {
        self.strings.get(id as usize).map_or("", |s| s)
    }

    /// Number of strings.
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    /// Whether nothing was interned.
    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_twice_gives_one_id() {
        let mut i = Interner::default();
        let a = i.intern("AppendEntries");
        let b = i.intern("Vote");
        assert_ne!(a, b);
        assert_eq!(i.intern("AppendEntries"), a);
        assert_eq!(i.get(b), "Vote");
        assert_eq!(i.get(NONE), "");
        assert_eq!(i.find("Vote"), Some(b));
        assert_eq!(i.len(), 2);
    }
}
