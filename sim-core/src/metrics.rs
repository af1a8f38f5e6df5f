//! Metrics recorded by nodes: counters, time-sampled gauges and latency histograms.
//!
//! Each metric is named by the node that records it and a static name. Histograms use the
//! `hdrhistogram` crate (3 significant figures), so percentiles are exact to 0.1%.

use hdrhistogram::Histogram;

use crate::node::NodeId;
use crate::time::SimTime;

/// A gauge: its latest value, its extremes, and every change with its true time.
#[derive(Clone, Debug, PartialEq)]
pub struct Gauge {
    /// The latest value.
    pub last: f64,
    /// The smallest value set.
    pub min: f64,
    /// The largest value set.
    pub max: f64,
    /// (time, value) of every change, for plots.
    pub samples: Vec<(SimTime, f64)>,
}

/// Percentiles of a histogram, in the recorded unit (nanoseconds for latencies).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize)]
pub struct Percentiles {
    /// Number of recorded values.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 95th percentile.
    pub p95: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest value.
    pub max: u64,
}

/// One kind of metric (counters, gauges or histograms) of every node, keyed by (node, name).
///
/// Models record metrics on every event, and a node has only a handful of each kind, so each
/// node keeps its own in a short vector searched linearly, comparing the static names'
/// addresses before their text; readers get them sorted by (node, name).
#[derive(Clone, Debug)]
struct Table<V> {
    /// `nodes[i]`: node `i`'s metrics of this kind, in first-use order.
    nodes: Vec<Vec<(&'static str, V)>>,
}

impl<V> Default for Table<V> {
    fn default() -> Self {
        Table { nodes: Vec::new() }
    }
}

/// Whether two metric names are the same: usually the same literal, so the same address.
#[inline(always)]
fn same_name(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}

impl<V> Table<V> {
    /// The metric `name` of `node`, created with `new` if it does not exist yet.
    #[inline]
    fn entry(&mut self, node: NodeId, name: &'static str, new: impl FnOnce() -> V) -> &mut V {
        let i = node.index();
        if self.nodes.len() <= i {
            self.nodes.resize_with(i + 1, Vec::new);
        }
        let row = &mut self.nodes[i];
        let at = match row.iter().position(|&(n, _)| same_name(n, name)) {
            Some(at) => at,
            None => {
                row.push((name, new()));
                row.len() - 1
            }
        };
        &mut row[at].1
    }

    /// The metric `name` of `node`, if recorded.
    fn get(&self, node: NodeId, name: &str) -> Option<&V> {
        let row = self.nodes.get(node.index())?;
        row.iter()
            .find(|&&(n, _)| same_name(n, name))
            .map(|(_, v)| v)
    }

    /// Every metric, in (node, name) order.
    fn sorted(&self) -> impl Iterator<Item = (NodeId, &'static str, &V)> + '_ {
        self.nodes.iter().enumerate().flat_map(|(i, row)| {
            let mut row: Vec<(&'static str, &V)> = row.iter().map(|(n, v)| (*n, v)).collect();
            row.sort_unstable_by_key(|&(n, _)| n);
            let node = NodeId(i as u32);
            row.into_iter().map(move |(n, v)| (node, n, v))
        })
    }
}

/// Every metric of a run, keyed by (node, name); read back in (node, name) order.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    counters: Table<u64>,
    gauges: Table<Gauge>,
    histograms: Table<Histogram<u64>>,
}

impl Metrics {
    /// Adds `n` to the counter `name` of `node`.
    pub fn count(&mut self, node: NodeId, name: &'static str, n: u64) {
        *self.counters.entry(node, name, || 0) += n;
    }

    /// Sets the gauge `name` of `node` to `value` at `time`.
    pub fn gauge(&mut self, time: SimTime, node: NodeId, name: &'static str, value: f64) {
        let g = self.gauges.entry(node, name, || Gauge {
            last: value,
            min: value,
            max: value,
            samples: Vec::new(),
        });
        g.last = value;
        g.min = g.min.min(value);
        g.max = g.max.max(value);
        g.samples.push((time, value));
    }

    /// Records `value` (e.g. a latency in nanoseconds) in the histogram `name` of `node`.
    pub fn observe(&mut self, node: NodeId, name: &'static str, value: u64) {
        let h = self.histograms.entry(node, name, new_histogram);
        // Auto-resizing histograms grow to fit any u64 value; record cannot fail for them.
        if h.record(value).is_err() {
            h.saturating_record(value);
        }
    }

    /// Every counter, in (node, name) order.
    pub fn counters(&self) -> impl Iterator<Item = (NodeId, &'static str, u64)> + '_ {
        self.counters.sorted().map(|(n, k, &v)| (n, k, v))
    }

    /// Every gauge, in (node, name) order.
    pub fn gauges(&self) -> impl Iterator<Item = (NodeId, &'static str, &Gauge)> + '_ {
        self.gauges.sorted()
    }

    /// Every histogram's percentiles, in (node, name) order.
    pub fn histograms(&self) -> impl Iterator<Item = (NodeId, &'static str, Percentiles)> + '_ {
        self.histograms
            .sorted()
            .map(|(n, k, h)| (n, k, percentiles(h)))
    }

    /// The counter `name` of `node` (0 if never counted): for reports, where a counter that
    /// never moved reads as 0. Tests read [`Metrics::try_counter`] or
    /// [`expect_counter`](crate::testing::expect_counter), so that a misspelt or renamed
    /// counter is an error rather than a 0.
    pub fn counter(&self, node: NodeId, name: &'static str) -> u64 {
        self.counters.get(node, name).copied().unwrap_or(0)
    }

    /// The counter `name` of `node`, or `None` if `node` never counted it (not even
    /// `count(name, 0)`).
    pub fn try_counter(&self, node: NodeId, name: &str) -> Option<u64> {
        self.counters.get(node, name).copied()
    }

    /// The gauge `name` of `node`, or `None` if `node` never set it.
    pub fn try_gauge(&self, node: NodeId, name: &str) -> Option<&Gauge> {
        self.gauges.get(node, name)
    }

    /// The percentiles of `node`'s histogram `name`, or `None` if `node` never observed a
    /// value for it.
    pub fn try_histogram(&self, node: NodeId, name: &str) -> Option<Percentiles> {
        self.histograms.get(node, name).map(percentiles)
    }

    /// Percentiles of the histograms named `name` of all `nodes` merged together.
    pub fn merged_percentiles(&self, nodes: &[NodeId], name: &str) -> Option<Percentiles> {
        let mut merged: Option<Histogram<u64>> = None;
        for (n, k, h) in self.histograms.sorted() {
            if k == name && nodes.contains(&n) {
                match &mut merged {
                    Some(m) => {
                        // Both histograms have the same auto-resizing configuration.
                        let _ = m.add(h);
                    }
                    None => merged = Some(h.clone()),
                }
            }
        }
        merged.as_ref().map(percentiles)
    }
}

fn new_histogram() -> Histogram<u64> {
    // 3 significant figures, auto-resizing: cannot fail for these arguments.
    let mut h = Histogram::new(3).unwrap_or_else(|_| unreachable_histogram());
    h.auto(true);
    h
}

#[cold]
fn unreachable_histogram() -> Histogram<u64> {
    // Histogram::new(3) only fails for sigfig > 5; keep a valid fallback rather than panic.
    Histogram::new_with_bounds(1, u64::MAX / 2, 2).unwrap_or_else(|_| std::process::abort())
}

fn percentiles(h: &Histogram<u64>) -> Percentiles {
    Percentiles {
        count: h.len(),
        p50: h.value_at_quantile(0.50),
        p95: h.value_at_quantile(0.95),
        p99: h.value_at_quantile(0.99),
        max: h.max(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_percentiles_within_precision() {
        let mut m = Metrics::default();
        for v in 1..=1000u64 {
            m.observe(NodeId(0), "rtt", v * 1_000);
        }
        let (_, _, p) = m.histograms().next().expect("one histogram");
        assert_eq!(p.count, 1000);
        assert!((499_000..=501_000).contains(&p.p50), "{p:?}");
        assert!((989_000..=991_000).contains(&p.p99), "{p:?}");
        assert!((999_000..=1_001_000).contains(&p.max), "{p:?}");
    }

    #[test]
    fn counters_and_gauges_accumulate() {
        let mut m = Metrics::default();
        m.count(NodeId(1), "sent", 2);
        m.count(NodeId(1), "sent", 3);
        m.gauge(SimTime(1), NodeId(1), "queue", 4.0);
        m.gauge(SimTime(2), NodeId(1), "queue", 1.0);
        assert_eq!(m.try_counter(NodeId(1), "sent"), Some(5));
        let g = m.try_gauge(NodeId(1), "queue").expect("gauge");
        assert_eq!((g.last, g.min, g.max, g.samples.len()), (1.0, 1.0, 4.0, 2));
    }

    #[test]
    fn strict_reads_tell_a_zero_from_a_name_never_recorded() {
        let mut m = Metrics::default();
        m.count(NodeId(0), "declared", 0);
        m.observe(NodeId(0), "rtt", 7);
        // The lenient read cannot tell the two apart; the strict one can.
        assert_eq!(m.counter(NodeId(0), "declared"), 0);
        assert_eq!(m.counter(NodeId(0), "misspelt"), 0);
        assert_eq!(m.try_counter(NodeId(0), "declared"), Some(0));
        assert_eq!(m.try_counter(NodeId(0), "misspelt"), None);
        assert_eq!(m.try_counter(NodeId(9), "declared"), None);
        assert_eq!(m.try_gauge(NodeId(0), "rtt"), None);
        let p = m.try_histogram(NodeId(0), "rtt").expect("histogram");
        assert_eq!((p.count, p.max), (1, 7));
        assert_eq!(m.try_histogram(NodeId(0), "latency"), None);
    }

    #[test]
    fn names_match_by_text_and_read_back_in_node_then_name_order() {
        let mut m = Metrics::default();
        // The same name at another address (e.g. a literal in another crate) is the same
        // metric.
        let elsewhere: &'static str = Box::leak(String::from("sent").into_boxed_str());
        m.count(NodeId(2), "sent", 1);
        m.count(NodeId(2), elsewhere, 2);
        m.count(NodeId(2), "acked", 1);
        m.count(NodeId(0), "zeta", 1);
        m.count(NodeId(0), "alpha", 1);
        assert_eq!(m.try_counter(NodeId(2), "sent"), Some(3));
        assert_eq!(m.try_counter(NodeId(1), "sent"), None);
        let all: Vec<_> = m.counters().collect();
        assert_eq!(
            all,
            vec![
                (NodeId(0), "alpha", 1),
                (NodeId(0), "zeta", 1),
                (NodeId(2), "acked", 1),
                (NodeId(2), "sent", 3),
            ]
        );
    }

    #[test]
    fn merged_percentiles_cover_all_named_nodes() {
        let mut m = Metrics::default();
        m.observe(NodeId(0), "rtt", 10);
        m.observe(NodeId(1), "rtt", 1_000);
        m.observe(NodeId(2), "rtt", 5);
        let p = m
            .merged_percentiles(&[NodeId(0), NodeId(1)], "rtt")
            .expect("merged");
        assert_eq!(p.count, 2);
        assert!(p.max >= 999);
        assert_eq!(m.merged_percentiles(&[NodeId(3)], "rtt"), None);
    }
}
