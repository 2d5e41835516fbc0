//! Cycles of a graph: its strongly connected components (Tarjan) and a shortest circle through
//! each.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::Module;

/// One circle of a graph: a shortest path from a node back to itself, and every node of its
/// strongly connected component (all of which reach each other).
pub(super) struct Cycle {
    pub(super) path: Vec<Module>,
    pub(super) members: Vec<Module>,
}

/// One cycle per strongly connected component of more than one node (self-arrows are never
/// recorded), starting at the component's first node so reports are stable.
pub(super) fn cycles(arrows: &BTreeSet<(Module, Module)>) -> Vec<Cycle> {
    let names: Vec<&Module> = arrows
        .iter()
        .flat_map(|(a, b)| [a, b])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let index: BTreeMap<&Module, usize> = names.iter().enumerate().map(|(k, m)| (*m, k)).collect();
    let mut successors = vec![Vec::new(); names.len()];
    for (a, b) in arrows {
        if let (Some(&from), Some(&to)) = (index.get(a), index.get(b)) {
            successors[from].push(to);
        }
    }
    let mut found: Vec<Cycle> = components(&successors)
        .into_iter()
        .filter(|component| component.len() > 1)
        .map(|mut component| {
            component.sort_unstable();
            let path = shortest_cycle(component[0], &successors, &component);
            Cycle {
                path: path.into_iter().map(|k| names[k].clone()).collect(),
                members: component.into_iter().map(|k| names[k].clone()).collect(),
            }
        })
        .collect();
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

/// Tarjan's strongly connected components of a graph given as successor lists.
fn components(successors: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = successors.len();
    let mut tarjan = Tarjan {
        successors,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in 0..n {
        if tarjan.index[v].is_none() {
            tarjan.visit(v);
        }
    }
    tarjan.found
}

struct Tarjan<'g> {
    successors: &'g [Vec<usize>],
    index: Vec<Option<usize>>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    next: usize,
    found: Vec<Vec<usize>>,
}

impl Tarjan<'_> {
    // Recursive: a crate's module graph is a few hundred nodes at most.
    fn visit(&mut self, v: usize) {
        self.index[v] = Some(self.next);
        self.low[v] = self.next;
        self.next += 1;
        self.stack.push(v);
        self.on_stack[v] = true;
        let successors = self.successors;
        for &w in &successors[v] {
            match self.index[w] {
                None => {
                    self.visit(w);
                    self.low[v] = self.low[v].min(self.low[w]);
                }
                Some(seen) if self.on_stack[w] => self.low[v] = self.low[v].min(seen),
                Some(_) => {}
            }
        }
        if self.index[v] == Some(self.low[v]) {
            let mut component = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            self.found.push(component);
        }
    }
}

/// A shortest path `start -> ... -> start` inside `members` (sorted), by breadth-first search.
fn shortest_cycle(start: usize, successors: &[Vec<usize>], members: &[usize]) -> Vec<usize> {
    let mut parent: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in &successors[v] {
            if w == start {
                let mut path = vec![start];
                let mut at = v;
                while at != start {
                    path.push(at);
                    match parent.get(&at) {
                        Some(&before) => at = before,
                        None => break,
                    }
                }
                path.push(start);
                path.reverse();
                return path;
            }
            if members.binary_search(&w).is_ok() && !parent.contains_key(&w) {
                parent.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    vec![start]
}
