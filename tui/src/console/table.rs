//! A list of API objects the console shows as a table: loaded rows, a text filter, the
//! selection and the marks, all by id, so a reload that moves rows keeps both on the same
//! objects.

use std::collections::BTreeSet;

use serde_json::Value;

/// Rows of one kind of object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Table {
    /// `None` until the first load answers.
    pub(crate) rows: Option<Vec<Value>>,
    /// The field that identifies a row (`id`, `name`, `seq`, …).
    id_key: &'static str,
    /// Rows shown contain this text (case-insensitive) in one of their string fields.
    pub(crate) filter: String,
    selected: Option<String>,
    pub(crate) marked: BTreeSet<String>,
    /// Whether the API said more rows exist than were loaded.
    pub(crate) more: bool,
}

impl Table {
    /// An empty table identified by `id_key`.
    pub(crate) fn new(id_key: &'static str) -> Self {
        Self {
            rows: None,
            id_key,
            filter: String::new(),
            selected: None,
            marked: BTreeSet::new(),
            more: false,
        }
    }

    /// A row's id as text (numbers included: dead letters are identified by sequence).
    pub(crate) fn id_of(&self, row: &Value) -> Option<String> {
        match &row[self.id_key] {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// Takes in freshly loaded rows; the selection stays on its id when it is still there,
    /// marks of rows that are gone are dropped.
    pub(crate) fn load(&mut self, rows: Vec<Value>, more: bool) {
        let ids: BTreeSet<String> = rows.iter().filter_map(|r| self.id_of(r)).collect();
        self.marked.retain(|id| ids.contains(id));
        let index = self.selected_index();
        self.rows = Some(rows);
        self.more = more;
        if self.selected.as_ref().is_none_or(|id| !ids.contains(id)) {
            self.select(index);
        }
    }

    /// The rows the filter lets through, in order.
    pub(crate) fn visible(&self) -> Vec<&Value> {
        let needle = self.filter.to_lowercase();
        self.rows
            .iter()
            .flatten()
            .filter(|row| needle.is_empty() || contains_text(row, &needle))
            .collect()
    }

    /// The position of the selected row among the visible ones (0 when none is).
    pub(crate) fn selected_index(&self) -> usize {
        let visible = self.visible();
        self.selected
            .as_deref()
            .and_then(|id| {
                visible
                    .iter()
                    .position(|r| self.id_of(r).as_deref() == Some(id))
            })
            .unwrap_or(0)
    }

    /// The selected row, if any row is visible.
    pub(crate) fn selected(&self) -> Option<&Value> {
        self.visible().get(self.selected_index()).copied()
    }

    /// The selected row's id.
    pub(crate) fn selected_id(&self) -> Option<String> {
        self.selected().and_then(|row| self.id_of(row))
    }

    fn select(&mut self, index: usize) {
        let visible = self.visible();
        let index = index.min(visible.len().saturating_sub(1));
        self.selected = visible.get(index).and_then(|row| self.id_of(row));
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
    pub(crate) fn sort_by(&mut self, key: impl Fn(&Value) -> SortValue, descending: bool) {
        if let Some(rows) = &mut self.rows {
            rows.sort_by(|a, b| {
                let order = key(a).cmp(&key(b));
                if descending { order.reverse() } else { order }
            });
        }
    }
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

    /// The value of a JSON cell.
    pub(crate) fn of(value: &Value) -> Self {
        match value {
            Value::Number(n) => n.as_f64().map_or(Self::Missing, Self::Number),
            Value::String(s) => Self::Text(s.clone()),
            _ => Self::Missing,
        }
    }
}

fn contains_text(value: &Value, needle: &str) -> bool {
    match value {
        Value::String(s) => s.to_lowercase().contains(needle),
        Value::Number(n) => n.to_string().contains(needle),
        Value::Array(items) => items.iter().any(|v| contains_text(v, needle)),
        Value::Object(map) => map.values().any(|v| contains_text(v, needle)),
        Value::Bool(_) | Value::Null => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table(ids: &[&str]) -> Table {
        let mut table = Table::new("id");
        table.load(
            ids.iter()
                .map(|id| json!({"id": id, "url": format!("http://127.0.0.1/{id}")}))
                .collect(),
            false,
        );
        table
    }

    #[test]
    fn the_selection_follows_its_id_when_rows_move() {
        let mut t = table(&["a", "b", "c"]);
        assert_eq!(t.selected_id().as_deref(), Some("a"));
        t.move_by(1, None);
        t.load(
            vec![json!({"id": "z"}), json!({"id": "a"}), json!({"id": "b"})],
            false,
        );
        assert_eq!(t.selected_id().as_deref(), Some("b"));
        t.move_by(5, None);
        assert_eq!(t.selected_id().as_deref(), Some("b"), "stops at the end");
        t.move_by(0, Some(false));
        assert_eq!(t.selected_id().as_deref(), Some("z"));
        // The selected row disappears: the same position is selected.
        t.move_by(1, None);
        t.load(vec![json!({"id": "z"}), json!({"id": "b"})], false);
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
        t.load(vec![json!({"id": "b"})], false);
        assert_eq!(t.marked_or_selected(), ["b"], "a is gone");
    }

    #[test]
    fn numeric_ids_and_sorting() {
        let mut t = Table::new("seq");
        t.load(
            vec![
                json!({"seq": 7, "n": 2}),
                json!({"seq": 9}),
                json!({"seq": 3, "n": 5}),
            ],
            true,
        );
        assert_eq!(t.selected_id().as_deref(), Some("7"));
        t.sort_by(|r| SortValue::of(&r["n"]), true);
        let order: Vec<_> = t.visible().iter().filter_map(|r| t.id_of(r)).collect();
        assert_eq!(
            order,
            ["3", "7", "9"],
            "missing values last when descending"
        );
        assert_eq!(t.selected_id().as_deref(), Some("7"));
        assert!(t.more);
    }
}
