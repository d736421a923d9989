//! Dependency paths: every chain from a direct dependency to a package,
//! shortest first, bounded so that huge graphs stay cheap.
//!
//! A path starts at a *direct* dependency (a dependency of one of the
//! graph's roots) and ends at the package; it stops at the first direct
//! dependency met, since a longer chain through another direct dependency
//! adds nothing a reader needs. Paths never repeat a package (npm graphs
//! have cycles). Works on the graph model only.

use crate::model::{DependencyGraph, PackageIndex};
use serde::Serialize;
use std::cell::OnceCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Default number of paths reported per package.
pub const DEFAULT_MAX_PATHS: usize = 5;

/// Bound on partial paths expanded per query, whatever the graph's shape.
const MAX_EXPANSIONS: usize = 20_000;

/// The paths to one package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DependencyPaths {
    /// Up to the requested number of paths, shortest first; each lists
    /// package indexes from the direct dependency to the package.
    pub paths: Vec<Vec<PackageIndex>>,
    /// How many paths exist in all: exact for acyclic graphs; for cyclic
    /// graphs a lower bound (one edge of each cycle, found by a depth-first
    /// search, is ignored), never less than the paths listed.
    /// Saturates at `u64::MAX`.
    pub total: u64,
}

impl DependencyPaths {
    /// Paths that exist but were not listed.
    pub fn more(&self) -> u64 {
        self.total.saturating_sub(self.paths.len() as u64)
    }
}

/// Precomputed reverse edges and distances for one graph; build once, query
/// for many packages.
pub struct PathIndex<'g> {
    graph: &'g DependencyGraph,
    preds: Vec<Vec<PackageIndex>>,
    is_root: Vec<bool>,
    is_direct: Vec<bool>,
    /// Shortest distance from any direct dependency (`u32::MAX`: unreachable).
    dist: Vec<u32>,
    counts: OnceCell<Vec<u64>>,
}

impl<'g> PathIndex<'g> {
    pub fn new(graph: &'g DependencyGraph) -> Self {
        let n = graph.packages.len();
        let mut is_root = vec![false; n];
        for &r in &graph.roots {
            if r < n {
                is_root[r] = true;
            }
        }
        let mut preds = vec![Vec::new(); n];
        for (from, deps) in graph.edges.iter().enumerate() {
            if is_root.get(from).copied().unwrap_or(true) {
                continue;
            }
            for &to in deps {
                if to < n && !is_root[to] {
                    preds[to].push(from);
                }
            }
        }
        let mut is_direct = vec![false; n];
        let mut dist = vec![u32::MAX; n];
        let mut queue = std::collections::VecDeque::new();
        for &r in &graph.roots {
            for &d in graph.edges.get(r).map(Vec::as_slice).unwrap_or_default() {
                if d < n && !is_root[d] && !is_direct[d] {
                    is_direct[d] = true;
                    dist[d] = 0;
                    queue.push_back(d);
                }
            }
        }
        while let Some(v) = queue.pop_front() {
            for &w in &graph.edges[v] {
                if w < n && !is_root[w] && dist[w] == u32::MAX {
                    dist[w] = dist[v] + 1;
                    queue.push_back(w);
                }
            }
        }
        Self { graph, preds, is_root, is_direct, dist, counts: OnceCell::new() }
    }

    pub fn graph(&self) -> &'g DependencyGraph {
        self.graph
    }

    /// True when `pkg` is a direct dependency.
    pub fn is_direct(&self, pkg: PackageIndex) -> bool {
        self.is_direct.get(pkg).copied().unwrap_or(false)
    }

    /// Up to `max` paths to `target`, shortest first, and the total count.
    /// A root (the project itself) or an unreachable package has none.
    pub fn paths_to(&self, target: PackageIndex, max: usize) -> DependencyPaths {
        if target >= self.graph.packages.len() || self.is_root[target] || self.dist[target] == u32::MAX {
            return DependencyPaths { paths: Vec::new(), total: 0 };
        }
        let total = self.counts()[target];
        let mut paths = Vec::new();
        // Best-first search backwards from the target; the priority is the
        // path's length so far plus the exact remaining distance to a direct
        // dependency, so complete paths come out shortest first.
        // Ties go to the longer partial path (depth first), so equal-length
        // alternatives in a wide lattice do not all get expanded first.
        type Entry = (Reverse<u32>, usize, Reverse<u64>, Vec<PackageIndex>);
        let mut heap: BinaryHeap<Entry> = BinaryHeap::new();
        let mut seq: u64 = 0;
        heap.push((Reverse(self.dist[target]), 1, Reverse(seq), vec![target]));
        let mut expansions = 0;
        while let Some((_, _, _, path)) = heap.pop() {
            if paths.len() >= max {
                break;
            }
            let head = *path.last().unwrap_or(&target);
            if self.is_direct[head] {
                let mut p = path;
                p.reverse();
                paths.push(p);
                continue;
            }
            expansions += 1;
            if expansions > MAX_EXPANSIONS {
                break;
            }
            for &p in &self.preds[head] {
                if self.dist[p] == u32::MAX || path.contains(&p) {
                    continue;
                }
                let mut next = path.clone();
                next.push(p);
                seq += 1;
                let prio = (next.len() as u32 - 1).saturating_add(self.dist[p]);
                heap.push((Reverse(prio), next.len(), Reverse(seq), next));
            }
        }
        let total = total.max(paths.len() as u64);
        DependencyPaths { paths, total }
    }

    /// Number of paths from a direct dependency to each package.
    fn counts(&self) -> &[u64] {
        self.counts.get_or_init(|| {
            let n = self.graph.packages.len();
            const UNSEEN: u8 = 0;
            const ON_STACK: u8 = 1;
            const DONE: u8 = 2;
            let mut state = vec![UNSEEN; n];
            let mut count = vec![0u64; n];
            for start in 0..n {
                if state[start] != UNSEEN {
                    continue;
                }
                // Iterative post-order DFS over predecessors.
                let mut stack: Vec<(PackageIndex, usize)> = vec![(start, 0)];
                state[start] = ON_STACK;
                while let Some(&mut (v, ref mut i)) = stack.last_mut() {
                    if self.is_direct[v] || self.is_root[v] {
                        count[v] = u64::from(self.is_direct[v]);
                        state[v] = DONE;
                        stack.pop();
                        continue;
                    }
                    if *i < self.preds[v].len() {
                        let p = self.preds[v][*i];
                        *i += 1;
                        if state[p] == UNSEEN {
                            state[p] = ON_STACK;
                            stack.push((p, 0));
                        }
                        continue;
                    }
                    let mut c: u64 = 0;
                    for &p in &self.preds[v] {
                        if state[p] == DONE {
                            c = c.saturating_add(count[p]);
                        }
                    }
                    count[v] = c;
                    state[v] = DONE;
                    stack.pop();
                }
            }
            count
        })
    }
}
