//! The console's one key list: what each key does, and the help `?` shows.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    Back,
    Filter,
    Command,
    NextView,
    View(usize),
    Freeze,
    Pause,
    Resume,
    Delete,
    Rotate,
    Refresh,
    Help,
    Quit,
    ForceQuit,
}

struct Binding {
    code: KeyCode,
    modifiers: KeyModifiers,
    key: Key,
    label: &'static str,
    help: &'static str,
}

const fn bind(code: KeyCode, key: Key, label: &'static str, help: &'static str) -> Binding {
    Binding {
        code,
        modifiers: KeyModifiers::NONE,
        key,
        label,
        help,
    }
}

const BINDINGS: &[Binding] = &[
    bind(KeyCode::Char('j'), Key::Down, "j / ↓", "next row"),
    bind(KeyCode::Down, Key::Down, "", ""),
    bind(KeyCode::Char('k'), Key::Up, "k / ↑", "previous row"),
    bind(KeyCode::Up, Key::Up, "", ""),
    bind(KeyCode::Char('g'), Key::Top, "g", "first row"),
    bind(KeyCode::Char('G'), Key::Bottom, "G", "last row"),
    bind(KeyCode::PageUp, Key::PageUp, "PgUp", "page up"),
    bind(KeyCode::PageDown, Key::PageDown, "PgDn", "page down"),
    bind(KeyCode::Esc, Key::Back, "esc", "back, cancel"),
    bind(KeyCode::Char('/'), Key::Filter, "/", "filter"),
    bind(
        KeyCode::Char(':'),
        Key::Command,
        ":",
        "command (:endpoints :live :tenant NAME :q)",
    ),
    bind(KeyCode::Tab, Key::NextView, "tab", "next view"),
    bind(KeyCode::Char('1'), Key::View(0), "1-2", "go to view"),
    bind(KeyCode::Char('2'), Key::View(1), "", ""),
    bind(
        KeyCode::Char('f'),
        Key::Freeze,
        "f",
        "freeze / unfreeze the live tail",
    ),
    bind(KeyCode::Char('p'), Key::Pause, "p", "pause endpoint"),
    bind(KeyCode::Char('r'), Key::Resume, "r", "resume endpoint"),
    bind(
        KeyCode::Char('d'),
        Key::Delete,
        "d",
        "delete endpoint (asks first)",
    ),
    bind(
        KeyCode::Char('R'),
        Key::Rotate,
        "R",
        "rotate secret (asks first)",
    ),
    bind(KeyCode::Char('u'), Key::Refresh, "u", "reload"),
    bind(KeyCode::Char('?'), Key::Help, "?", "this help"),
    bind(KeyCode::Char('q'), Key::Quit, "q", "quit"),
    Binding {
        code: KeyCode::Char('c'),
        modifiers: KeyModifiers::CONTROL,
        key: Key::ForceQuit,
        label: "ctrl-c",
        help: "quit, always",
    },
];

/// The key an event means, if any.
pub(crate) fn key_for(event: KeyEvent) -> Option<Key> {
    // Shifted letters arrive with SHIFT set; the character already says which.
    let modifiers = event.modifiers - KeyModifiers::SHIFT;
    BINDINGS
        .iter()
        .find(|b| b.code == event.code && b.modifiers == modifiers)
        .map(|b| b.key)
}

/// The help lines: `(keys, what they do)`.
pub(crate) fn help() -> impl Iterator<Item = (&'static str, &'static str)> {
    BINDINGS
        .iter()
        .filter(|b| !b.label.is_empty())
        .map(|b| (b.label, b.help))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> Option<Key> {
        key_for(KeyEvent::new(code, modifiers))
    }

    #[test]
    fn keys_map_as_listed() {
        assert_eq!(
            press(KeyCode::Char('j'), KeyModifiers::NONE),
            Some(Key::Down)
        );
        assert_eq!(press(KeyCode::Down, KeyModifiers::NONE), Some(Key::Down));
        assert_eq!(
            press(KeyCode::Char('G'), KeyModifiers::SHIFT),
            Some(Key::Bottom)
        );
        assert_eq!(
            press(KeyCode::Char('R'), KeyModifiers::SHIFT),
            Some(Key::Rotate)
        );
        assert_eq!(
            press(KeyCode::Char('c'), KeyModifiers::CONTROL),
            Some(Key::ForceQuit)
        );
        assert_eq!(press(KeyCode::Char('c'), KeyModifiers::NONE), None);
        assert_eq!(
            press(KeyCode::Char('2'), KeyModifiers::NONE),
            Some(Key::View(1))
        );
    }

    #[test]
    fn every_key_is_bound_once_and_help_lists_labelled_ones() {
        for (i, a) in BINDINGS.iter().enumerate() {
            for b in &BINDINGS[i + 1..] {
                assert!(
                    !(a.code == b.code && a.modifiers == b.modifiers),
                    "{:?} bound twice",
                    a.code
                );
            }
        }
        assert!(help().any(|(keys, _)| keys == "?"));
        assert!(help().all(|(_, what)| !what.is_empty()));
    }
}
