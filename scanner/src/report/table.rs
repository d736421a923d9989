//! Aligned plain-text tables.

/// A table with a header row; columns are padded to the widest cell
/// (counted in characters, so `→` is one column).
pub(crate) struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(header: &[&str]) -> Self {
        Self { header: header.iter().map(|h| (*h).to_owned()).collect(), rows: Vec::new() }
    }

    /// Adds a row. Cells are data (package names, versions, …): control
    /// characters are escaped ([`super::escape::terminal`]).
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.iter().map(|c| super::escape::terminal(c)).collect());
    }

    /// Renders with `indent` before each line; `paint(column, cell)` may
    /// wrap a cell in escape codes after padding is computed.
    pub(crate) fn render(&self, indent: &str, paint: &dyn Fn(usize, &str) -> String) -> String {
        let cols = self.header.len();
        let mut widths = vec![0usize; cols];
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (i, cell) in row.iter().enumerate().take(cols) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for (r, row) in std::iter::once(&self.header).chain(&self.rows).enumerate() {
            let mut line = String::from(indent);
            for (i, cell) in row.iter().enumerate().take(cols) {
                let pad = widths[i] - cell.chars().count();
                let shown = if r == 0 { cell.clone() } else { paint(i, cell) };
                line.push_str(&shown);
                if i + 1 < cols {
                    line.push_str(&" ".repeat(pad + 2));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}
