//! Raft's liveness check for a quiet phase ([`crate::model::Model::progress`]): by the
//! deadline, every running server follows one leader (the leader of the highest term among
//! them), and every server has committed at least what any server had committed when the
//! quiet phase began — a leader elected and the replicas converged.

use sim_core::{NodeId, NodeStatus, SimTime, Simulation};

use crate::model::{Progress, Verdict};
use crate::world::World;

/// What the check remembers from the start of the quiet phase.
#[derive(Debug)]
pub struct RaftProgress {
    cluster: String,
    /// The highest commit index of any server at the start.
    committed: u64,
}

fn annotation(sim: &Simulation<World>, node: NodeId, key: &str) -> Option<String> {
    sim.annotations(node).and_then(|a| a.get(key).cloned())
}

fn number(sim: &Simulation<World>, node: NodeId, key: &str) -> u64 {
    annotation(sim, node, key)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

impl RaftProgress {
    /// Starts the check for `cluster`'s `nodes` now.
    pub fn start(sim: &Simulation<World>, cluster: &str, nodes: &[NodeId]) -> Self {
        let committed = nodes
            .iter()
            .map(|&n| number(sim, n, "commit"))
            .max()
            .unwrap_or(0);
        RaftProgress {
            cluster: cluster.to_owned(),
            committed,
        }
    }
}

impl Progress for RaftProgress {
    fn judge(&self, sim: &Simulation<World>, nodes: &[NodeId], since: SimTime) -> Verdict {
        let name = |n: NodeId| {
            sim.node_info(n)
                .map_or_else(String::new, |i| i.name.clone())
        };
        let running: Vec<NodeId> = nodes
            .iter()
            .copied()
            .filter(|&n| sim.status(n) == Some(NodeStatus::Up))
            .collect();
        let leader = running
            .iter()
            .copied()
            .filter(|&n| annotation(sim, n, "role").as_deref() == Some("leader"))
            .max_by_key(|&n| number(sim, n, "term"));
        let mut problems = Vec::new();
        match leader {
            None => problems.push("no leader".to_owned()),
            Some(l) => {
                let lname = name(l);
                let astray: Vec<String> = running
                    .iter()
                    .copied()
                    .filter(|&n| n != l && annotation(sim, n, "leader").as_deref() != Some(&lname))
                    .map(name)
                    .collect();
                if !astray.is_empty() {
                    problems.push(format!("{} do not follow {lname}", astray.join(", ")));
                }
            }
        }
        let behind: Vec<String> = nodes
            .iter()
            .copied()
            .filter(|&n| number(sim, n, "commit") < self.committed)
            .map(|n| format!("{} at {}", name(n), number(sim, n, "commit")))
            .collect();
        if !behind.is_empty() {
            problems.push(format!(
                "behind the commit index {} of the phase's start: {}",
                self.committed,
                behind.join(", ")
            ));
        }
        let holds = problems.is_empty();
        let summary = if holds {
            format!(
                "{} follows one leader ({}) and every replica has committed at least index {}, by {} after the quiet phase began at {since}",
                self.cluster,
                leader.map(name).unwrap_or_default(),
                self.committed,
                sim.now() - since
            )
        } else {
            format!("{} at {}: {}", self.cluster, sim.now(), problems.join("; "))
        };
        Verdict {
            check: format!("progress of {}", self.cluster),
            holds,
            summary,
            metrics: [(
                format!("liveness.{}", self.cluster),
                f64::from(u8::from(holds)),
            )]
            .into(),
            report: String::new(),
            broken_at: None,
        }
    }
}
