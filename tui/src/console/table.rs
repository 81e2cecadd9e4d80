//! A list of API objects the console shows as a table: loaded rows, a text filter, the
//! selection and the marks, all by id, so a reload that moves rows keeps both on the same
//! objects.

use std::collections::BTreeSet;

use hookwire_protocol::audit::AuditEntry;
use hookwire_protocol::catalog::EventTypeDef;
use hookwire_protocol::dead_letter::DeadLetter;
use hookwire_protocol::delivery::DeliveryRecord;
use hookwire_protocol::endpoint::Endpoint;
use hookwire_protocol::ordered::BlockedKey;
use hookwire_protocol::replay::ReplayJob;
use hookwire_protocol::source::SourceView;
use hookwire_protocol::template::TemplateSummary;
use serde::Serialize;

/// An object a table lists: it has an id that stays the same across reloads.
pub(crate) trait Row: Serialize {
    /// The row's id as text (dead letters and audit records are identified by sequence).
    fn id(&self) -> String;
}

impl Row for Endpoint {
    fn id(&self) -> String {
        self.id.clone()
    }
}

impl Row for DeliveryRecord {
    /// Deliveries are identified by endpoint and event together.
    fn id(&self) -> String {
        format!("{}/{}", self.endpoint_id, self.event_id)
    }
}

impl Row for DeadLetter {
    fn id(&self) -> String {
        self.seq.to_string()
    }
}

impl Row for EventTypeDef {
    fn id(&self) -> String {
        self.name.clone()
    }
}

impl Row for ReplayJob {
    fn id(&self) -> String {
        self.id.clone()
    }
}

impl Row for AuditEntry {
    fn id(&self) -> String {
        self.seq.to_string()
    }
}

impl Row for TemplateSummary {
    fn id(&self) -> String {
        self.name.clone()
    }
}

impl Row for BlockedKey {
    fn id(&self) -> String {
        self.lane.clone()
    }
}

impl Row for SourceView {
    fn id(&self) -> String {
        self.source.name.clone()
    }
}

/// Rows of one kind of object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Table<R> {
    /// `None` until the first load answers; each row with its text, lowercase, for the
    /// filter.
    rows: Option<Vec<(R, String)>>,
    /// Rows shown contain this text (case-insensitive) in one of their fields.
    pub(crate) filter: String,
    selected: Option<String>,
    pub(crate) marked: BTreeSet<String>,
    /// Whether the API said more rows exist than were loaded.
    pub(crate) more: bool,
}

impl<R> Default for Table<R> {
    fn default() -> Self {
        Self {
            rows: None,
            filter: String::new(),
            selected: None,
            marked: BTreeSet::new(),
            more: false,
        }
    }
}

impl<R: Row> Table<R> {
    /// Whether the first load has answered.
    pub(crate) fn loaded(&self) -> bool {
        self.rows.is_some()
    }

    /// Takes in freshly loaded rows; the selection stays on its id when it is still there,
    /// marks of rows that are gone are dropped.
    pub(crate) fn load(&mut self, rows: Vec<R>, more: bool) {
        let ids: BTreeSet<String> = rows.iter().map(Row::id).collect();
        self.marked.retain(|id| ids.contains(id));
        let index = self.selected_index();
        self.rows = Some(
            rows.into_iter()
                .map(|row| {
                    let text = search_text(&row);
                    (row, text)
                })
                .collect(),
        );
        self.more = more;
        if self.selected.as_ref().is_none_or(|id| !ids.contains(id)) {
            self.select(index);
        }
    }

    /// How many rows are loaded, filtered or not.
    pub(crate) fn len(&self) -> usize {
        self.rows.as_ref().map_or(0, Vec::len)
    }

    /// The rows the filter lets through, in order.
    pub(crate) fn visible(&self) -> Vec<&R> {
        let needle = self.filter.to_lowercase();
        self.rows
            .iter()
            .flatten()
            .filter(|(_, text)| needle.is_empty() || text.contains(&needle))
            .map(|(row, _)| row)
            .collect()
    }

    /// The position of the selected row among the visible ones (0 when none is).
    pub(crate) fn selected_index(&self) -> usize {
        let visible = self.visible();
        self.selected
            .as_deref()
            .and_then(|id| visible.iter().position(|r| r.id() == id))
            .unwrap_or(0)
    }

    /// The selected row, if any row is visible.
    pub(crate) fn selected(&self) -> Option<&R> {
        self.visible().get(self.selected_index()).copied()
    }

    /// The selected row's id.
    pub(crate) fn selected_id(&self) -> Option<String> {
        self.selected().map(Row::id)
    }

    /// Whether `row` is marked.
    pub(crate) fn is_marked(&self, row: &R) -> bool {
        self.marked.contains(&row.id())
    }

    fn select(&mut self, index: usize) {
        let visible = self.visible();
        let index = index.min(visible.len().saturating_sub(1));
        self.selected = visible.get(index).map(|row| row.id());
    }

    /// Moves the selection by `delta` rows, or to the first / last row.
    pub(crate) fn move_by(&mut self, delta: isize, to_end: Option<bool>) {
        let last = self.visible().len().saturating_sub(1);
        let target = match to_end {
            Some(true) => last,
            Some(false) => 0,
            None => self.selected_index().saturating_add_signed(delta).min(last),
        };
        self.select(target);
    }

    /// Sets the filter and keeps a visible selection.
    pub(crate) fn set_filter(&mut self, filter: &str) {
        filter.clone_into(&mut self.filter);
        let index = self.selected_index();
        self.select(index);
    }

    /// Marks or unmarks the selected row.
    pub(crate) fn toggle_mark(&mut self) {
        if let Some(id) = self.selected_id()
            && !self.marked.remove(&id)
        {
            self.marked.insert(id);
        }
    }

    /// The marked rows' ids, or the selected row's when none is marked.
    pub(crate) fn marked_or_selected(&self) -> Vec<String> {
        if self.marked.is_empty() {
            self.selected_id().into_iter().collect()
        } else {
            self.marked.iter().cloned().collect()
        }
    }

    /// Sorts the rows by `key` (descending when `descending`); the selection keeps its id.
    pub(crate) fn sort_by(&mut self, key: impl Fn(&R) -> SortValue, descending: bool) {
        if let Some(rows) = &mut self.rows {
            rows.sort_by(|(a, _), (b, _)| {
                let order = key(a).cmp(&key(b));
                if descending { order.reverse() } else { order }
            });
        }
    }
}

/// What keys do to whichever table is shown, whatever its rows.
pub(crate) trait Selectable {
    /// See [`Table::move_by`].
    fn move_by(&mut self, delta: isize, to_end: Option<bool>);
    /// See [`Table::set_filter`].
    fn set_filter(&mut self, filter: &str);
    /// See [`Table::toggle_mark`].
    fn toggle_mark(&mut self);
    /// Drops every mark.
    fn clear_marks(&mut self);
    /// The text filter.
    fn filter(&self) -> &str;
    /// See [`Table::selected_id`].
    fn selected_id(&self) -> Option<String>;
}

impl<R: Row> Selectable for Table<R> {
    fn move_by(&mut self, delta: isize, to_end: Option<bool>) {
        Table::move_by(self, delta, to_end);
    }

    fn set_filter(&mut self, filter: &str) {
        Table::set_filter(self, filter);
    }

    fn toggle_mark(&mut self) {
        Table::toggle_mark(self);
    }

    fn clear_marks(&mut self) {
        self.marked.clear();
    }

    fn filter(&self) -> &str {
        &self.filter
    }

    fn selected_id(&self) -> Option<String> {
        Table::selected_id(self)
    }
}

/// Every text and number of a row, lowercase, one per line: what the filter searches.
fn search_text(row: &impl Serialize) -> String {
    fn collect(value: &serde_json::Value, into: &mut String) {
        match value {
            serde_json::Value::String(s) => {
                into.push_str(&s.to_lowercase());
                into.push('\n');
            }
            serde_json::Value::Number(n) => {
                into.push_str(&n.to_string());
                into.push('\n');
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, into)),
            serde_json::Value::Object(map) => map.values().for_each(|v| collect(v, into)),
            serde_json::Value::Bool(_) | serde_json::Value::Null => {}
        }
    }
    let mut text = String::new();
    if let Ok(value) = serde_json::to_value(row) {
        collect(&value, &mut text);
    }
    text
}

/// A sortable cell: missing values sort before numbers, numbers before text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SortValue {
    Missing,
    Number(f64),
    Text(String),
}

impl Eq for SortValue {}

impl PartialOrd for SortValue {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SortValue {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (self, other) {
            (Self::Number(a), Self::Number(b)) => a.total_cmp(b),
            (Self::Text(a), Self::Text(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl SortValue {
    fn rank(&self) -> u8 {
        match self {
            Self::Missing => 0,
            Self::Number(_) => 1,
            Self::Text(_) => 2,
        }
    }

    /// A number, or missing.
    pub(crate) fn number(n: Option<f64>) -> Self {
        n.map_or(Self::Missing, Self::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize)]
    struct Item {
        id: String,
        url: String,
        n: Option<f64>,
    }

    impl Row for Item {
        fn id(&self) -> String {
            self.id.clone()
        }
    }

    fn item(id: &str) -> Item {
        Item {
            id: id.to_owned(),
            url: format!("http://127.0.0.1/{id}"),
            n: None,
        }
    }

    fn table(ids: &[&str]) -> Table<Item> {
        let mut table = Table::default();
        table.load(ids.iter().map(|id| item(id)).collect(), false);
        table
    }

    #[test]
    fn the_selection_follows_its_id_when_rows_move() {
        let mut t = table(&["a", "b", "c"]);
        assert_eq!(t.selected_id().as_deref(), Some("a"));
        t.move_by(1, None);
        t.load(vec![item("z"), item("a"), item("b")], false);
        assert_eq!(t.selected_id().as_deref(), Some("b"));
        t.move_by(5, None);
        assert_eq!(t.selected_id().as_deref(), Some("b"), "stops at the end");
        t.move_by(0, Some(false));
        assert_eq!(t.selected_id().as_deref(), Some("z"));
        // The selected row disappears: the same position is selected.
        t.move_by(1, None);
        t.load(vec![item("z"), item("b")], false);
        assert_eq!(t.selected_id().as_deref(), Some("b"));
    }

    #[test]
    fn filters_look_into_every_text_field() {
        let mut t = table(&["alpha", "beta"]);
        t.set_filter("127.0.0.1/BET");
        assert_eq!(t.visible().len(), 1);
        assert_eq!(t.selected_id().as_deref(), Some("beta"));
        t.set_filter("nothing");
        assert!(t.visible().is_empty());
        assert_eq!(t.selected_id(), None);
    }

    #[test]
    fn marks_are_by_id_and_dropped_with_their_rows() {
        let mut t = table(&["a", "b", "c"]);
        assert_eq!(t.marked_or_selected(), ["a"]);
        t.toggle_mark();
        t.move_by(2, None);
        t.toggle_mark();
        assert_eq!(t.marked_or_selected(), ["a", "c"]);
        t.toggle_mark();
        assert_eq!(t.marked_or_selected(), ["a"]);
        t.load(vec![item("b")], false);
        assert_eq!(t.marked_or_selected(), ["b"], "a is gone");
    }

    #[test]
    fn sorting_keeps_the_selection_and_puts_missing_values_last_when_descending() {
        let mut t: Table<Item> = Table::default();
        let mut rows = vec![item("7"), item("9"), item("3")];
        rows[0].n = Some(2.0);
        rows[2].n = Some(5.0);
        t.load(rows, true);
        assert_eq!(t.selected_id().as_deref(), Some("7"));
        t.sort_by(|r| SortValue::number(r.n), true);
        let order: Vec<String> = t.visible().iter().map(|r| r.id()).collect();
        assert_eq!(order, ["3", "7", "9"]);
        assert_eq!(t.selected_id().as_deref(), Some("7"));
        assert!(t.more);
    }
}
