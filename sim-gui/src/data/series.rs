//! Metric series over time for the plots: client throughput, latency percentiles and
//! availability per time bucket, and messages in flight (the network's queues) per cluster.

use super::{Fate, RunData};

/// Points `[seconds, value]` ready for `egui_plot`.
pub type Points = Vec<[f64; 2]>;

/// Every series the plots show.
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// Bucket width in nanoseconds.
    pub bucket_ns: u64,
    /// Operations completed ok per second.
    pub throughput: Points,
    /// Latency percentiles of the operations completed ok in each bucket, milliseconds.
    pub p50: Points,
    /// 95th percentile.
    pub p95: Points,
    /// 99th percentile.
    pub p99: Points,
    /// Share of the operations completed in each bucket that completed ok.
    pub availability: Points,
    /// Messages in flight at the end of each bucket, per receiving cluster (name, points).
    pub in_flight: Vec<(String, Points)>,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

impl Series {
    /// Computes the series of `run` with about `buckets` buckets.
    pub fn of(run: &RunData, buckets: usize) -> Series {
        let buckets = buckets.max(1);
        let width = (run.end / buckets as u64).max(1);
        let n = (run.end / width + 1) as usize;
        let mid = |i: usize| (i as f64 + 0.5) * width as f64 / 1e9;
        let mut ok_lat: Vec<Vec<u64>> = vec![Vec::new(); n];
        let mut done = vec![0u32; n];
        for op in &run.ops {
            let Some(c) = op.completed else { continue };
            let b = ((c / width) as usize).min(n - 1);
            done[b] += 1;
            if op.phase == "ok" {
                ok_lat[b].push(c - op.invoked);
            }
        }
        let mut s = Series {
            bucket_ns: width,
            ..Series::default()
        };
        let secs = width as f64 / 1e9;
        for (i, lat) in ok_lat.iter_mut().enumerate() {
            lat.sort_unstable();
            s.throughput.push([mid(i), lat.len() as f64 / secs]);
            if done[i] > 0 {
                s.availability
                    .push([mid(i), lat.len() as f64 / f64::from(done[i])]);
            }
            if !lat.is_empty() {
                let ms = |p| percentile(lat, p) as f64 / 1e6;
                s.p50.push([mid(i), ms(0.5)]);
                s.p95.push([mid(i), ms(0.95)]);
                s.p99.push([mid(i), ms(0.99)]);
            }
        }
        // In flight at each bucket's end: +1 at send, -1 at delivery or drop, per cluster.
        for cluster in &run.clusters {
            let mut delta = vec![0i64; n + 1];
            for m in &run.messages {
                if run
                    .nodes
                    .get(m.to as usize)
                    .is_none_or(|x| &x.cluster != cluster)
                {
                    continue;
                }
                delta[((m.sent / width) as usize).min(n)] += 1;
                if m.fate != Fate::InFlight {
                    delta[((m.end / width) as usize).min(n)] -= 1;
                }
            }
            let mut level = 0i64;
            let mut pts = Vec::with_capacity(n);
            for (i, d) in delta.iter().take(n).enumerate() {
                level += d;
                pts.push([(i as f64 + 1.0) * width as f64 / 1e9, level as f64]);
            }
            s.in_flight.push((cluster.clone(), pts));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), 50);
        assert_eq!(percentile(&v, 0.99), 99);
        assert_eq!(percentile(&[7], 0.95), 7);
        assert_eq!(percentile(&[], 0.5), 0);
    }
}
