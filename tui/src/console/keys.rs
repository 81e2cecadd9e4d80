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
    Open,
    Back,
    Filter,
    Command,
    NextView,
    PrevView,
    View(usize),
    /// The previous version (a template's page).
    Older,
    /// The next version.
    Newer,
    Mark,
    Sort,
    Copy,
    Freeze,
    Refresh,
    OpenEndpoint,
    /// The blocked keys of an ordered endpoint.
    BlockedKeys,
    New,
    Edit,
    Pause,
    Resume,
    Enable,
    Verify,
    Test,
    Rotate,
    Delete,
    DeleteAll,
    Resend,
    ResendAll,
    Replay,
    Help,
    Quit,
    ForceQuit,
}

impl Key {
    /// Whether the key changes something (hidden and refused in a read-only console).
    pub(crate) fn mutates(self) -> bool {
        matches!(
            self,
            Self::New
                | Self::Edit
                | Self::Pause
                | Self::Resume
                | Self::Enable
                | Self::Verify
                | Self::Test
                | Self::Rotate
                | Self::Delete
                | Self::DeleteAll
                | Self::Resend
                | Self::ResendAll
                | Self::Replay
        )
    }
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

const fn char(c: char, key: Key, help: &'static str) -> Binding {
    bind(KeyCode::Char(c), key, "", help)
}

/// A second key for the same thing: not listed again in the help.
const fn also(code: KeyCode, key: Key) -> Binding {
    bind(code, key, "", "")
}

const BINDINGS: &[Binding] = &[
    bind(
        KeyCode::Char('j'),
        Key::Down,
        "j / ↓",
        "next row (scroll in details)",
    ),
    also(KeyCode::Down, Key::Down),
    bind(KeyCode::Char('k'), Key::Up, "k / ↑", "previous row"),
    also(KeyCode::Up, Key::Up),
    bind(KeyCode::Char('g'), Key::Top, "g / G", "first / last row"),
    also(KeyCode::Char('G'), Key::Bottom),
    bind(KeyCode::PageUp, Key::PageUp, "PgUp/PgDn", "page up / down"),
    also(KeyCode::PageDown, Key::PageDown),
    bind(
        KeyCode::Enter,
        Key::Open,
        "enter",
        "open (endpoint, delivery, type, source)",
    ),
    bind(KeyCode::Esc, Key::Back, "esc", "back, cancel"),
    bind(
        KeyCode::Char('/'),
        Key::Filter,
        "/",
        "filter or search (see docs/console.md)",
    ),
    bind(
        KeyCode::Char(':'),
        Key::Command,
        ":",
        "command: :overview :endpoints :live :deliveries :dlq :types :replays :audit :sources :templates :messages :tenant NAME :q",
    ),
    bind(
        KeyCode::Tab,
        Key::NextView,
        "tab",
        "next view (shift-tab: previous)",
    ),
    also(KeyCode::BackTab, Key::PrevView),
    bind(KeyCode::Char('1'), Key::View(0), "1-9, 0", "go to view"),
    also(KeyCode::Char('2'), Key::View(1)),
    also(KeyCode::Char('3'), Key::View(2)),
    also(KeyCode::Char('4'), Key::View(3)),
    also(KeyCode::Char('5'), Key::View(4)),
    also(KeyCode::Char('6'), Key::View(5)),
    also(KeyCode::Char('7'), Key::View(6)),
    also(KeyCode::Char('8'), Key::View(7)),
    also(KeyCode::Char('9'), Key::View(8)),
    also(KeyCode::Char('0'), Key::View(9)),
    bind(
        KeyCode::Left,
        Key::Older,
        "← / →",
        "older / newer version (template page)",
    ),
    also(KeyCode::Right, Key::Newer),
    bind(
        KeyCode::Char(' '),
        Key::Mark,
        "space",
        "mark / unmark the row",
    ),
    char('s', Key::Sort, "sort endpoints by the next column"),
    char('c', Key::Copy, "copy the selected id (OSC 52)"),
    char('f', Key::Freeze, "freeze / follow the live tail"),
    char('u', Key::Refresh, "reload"),
    char('o', Key::OpenEndpoint, "open the endpoint of the row"),
    char(
        'b',
        Key::BlockedKeys,
        "ordered endpoint's blocked keys (d, D move a head aside)",
    ),
    char(
        'n',
        Key::New,
        "new endpoint / event type / template (version)",
    ),
    char('e', Key::Edit, "edit endpoint / event type"),
    char('p', Key::Pause, "pause endpoint"),
    char('r', Key::Resume, "resume endpoint"),
    char('E', Key::Enable, "enable a disabled endpoint"),
    char('v', Key::Verify, "verify endpoint (send the challenge)"),
    char(
        't',
        Key::Test,
        "send a test event / preview a template version",
    ),
    char('R', Key::Rotate, "rotate secret (asks first)"),
    char(
        'd',
        Key::Delete,
        "delete endpoint / type / template, purge dead letters (asks)",
    ),
    char(
        'D',
        Key::DeleteAll,
        "purge all of the endpoint (dead letters), deprecate (types)",
    ),
    char('x', Key::Resend, "redeliver, requeue marked dead letters"),
    char(
        'X',
        Key::ResendAll,
        "requeue all dead letters of the endpoint (asks)",
    ),
    char(
        'w',
        Key::Replay,
        "replay a time window to the endpoint (asks)",
    ),
    char('?', Key::Help, "this help"),
    char('q', Key::Quit, "quit"),
    Binding {
        code: KeyCode::Char('c'),
        modifiers: KeyModifiers::CONTROL,
        key: Key::ForceQuit,
        label: "ctrl-c",
        help: "quit, always",
    },
];

/// The key presses an event stands for. Esc and the next key sent in one read (a laggy
/// link) arrive as that key with Alt, which the console binds to nothing: they are taken
/// apart again, Esc first.
pub(crate) fn unfold(event: KeyEvent) -> Vec<KeyEvent> {
    if event.modifiers.contains(KeyModifiers::ALT) {
        let mut next = event;
        next.modifiers.remove(KeyModifiers::ALT);
        vec![KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE), next]
    } else {
        vec![event]
    }
}

/// The key an event means, if any.
pub(crate) fn key_for(event: KeyEvent) -> Option<Key> {
    // Shifted letters arrive with SHIFT set; the character already says which.
    let modifiers = event.modifiers - KeyModifiers::SHIFT;
    BINDINGS
        .iter()
        .find(|b| b.code == event.code && b.modifiers == modifiers)
        .map(|b| b.key)
}

/// The help lines, `(keys, what they do)`; a read-only console leaves out the changes.
pub(crate) fn help(readonly: bool) -> impl Iterator<Item = (String, &'static str)> {
    BINDINGS
        .iter()
        .filter(|b| !b.help.is_empty())
        .filter(move |b| !(readonly && b.key.mutates()))
        .map(|b| {
            let label = match (b.label, b.code) {
                ("", KeyCode::Char(c)) => c.to_string(),
                (label, _) => label.to_owned(),
            };
            (label, b.help)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> Option<Key> {
        key_for(KeyEvent::new(code, modifiers))
    }

    #[test]
    fn esc_and_the_next_key_in_one_read_are_both_kept() {
        let folded = KeyEvent::new(KeyCode::Char('j'), KeyModifiers::ALT);
        let keys: Vec<Option<Key>> = unfold(folded).into_iter().map(key_for).collect();
        assert_eq!(keys, [Some(Key::Back), Some(Key::Down)]);
        let plain = KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE);
        assert_eq!(unfold(plain), [plain]);
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
            press(KeyCode::BackTab, KeyModifiers::SHIFT),
            Some(Key::PrevView)
        );
        assert_eq!(
            press(KeyCode::Char('c'), KeyModifiers::CONTROL),
            Some(Key::ForceQuit)
        );
        assert_eq!(
            press(KeyCode::Char('c'), KeyModifiers::NONE),
            Some(Key::Copy)
        );
        assert_eq!(
            press(KeyCode::Char('7'), KeyModifiers::NONE),
            Some(Key::View(6))
        );
        assert_eq!(
            press(KeyCode::Char('9'), KeyModifiers::NONE),
            Some(Key::View(8))
        );
        assert_eq!(press(KeyCode::Char('Z'), KeyModifiers::SHIFT), None);
    }

    #[test]
    fn every_key_is_bound_once_and_help_lists_each_meaning() {
        for (i, a) in BINDINGS.iter().enumerate() {
            for b in &BINDINGS[i + 1..] {
                assert!(
                    !(a.code == b.code && a.modifiers == b.modifiers),
                    "{:?} bound twice",
                    a.code
                );
            }
        }
        assert!(help(false).any(|(keys, _)| keys == "?"));
        assert!(help(false).any(|(keys, _)| keys == "R"));
        assert!(help(false).all(|(keys, what)| !keys.is_empty() && !what.is_empty()));
    }

    #[test]
    fn read_only_help_leaves_out_every_change() {
        let listed: Vec<String> = help(true).map(|(keys, _)| keys).collect();
        for change in [
            "n", "e", "p", "r", "E", "v", "t", "R", "d", "D", "x", "X", "w",
        ] {
            assert!(!listed.iter().any(|k| k == change), "{change} listed");
        }
        assert!(listed.iter().any(|k| k == "enter"));
    }
}
