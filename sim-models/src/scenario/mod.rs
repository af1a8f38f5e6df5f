//! Scenario files: parse a TOML scenario into a checked, effective configuration, print it back
//! with every default filled in, and build the simulation it describes.
//!
//! Parsing keeps every span: an error names the file, line, column and key, and says what was
//! expected. Clusters are parsed by their model (each model's configuration is its own typed
//! struct that rejects unknown keys).

mod error;
pub mod layout;
pub mod spec;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sim_core::{
    Clock, Duration, FaultAction, LinkProfile, NemesisConfig, NemesisKind, NetworkConfig, NodeId,
    ScheduledFault, SimBuilder, SimRng, SimTime, Simulation, Stream, TraceLevel, ZoneLink,
};
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

pub use error::{Locator, ScenarioError, line_column};
use spec::{FAULT_ACTIONS, FaultSpec, FileSpec};

use crate::bugs::Bugs;
use crate::config::Reference;
use crate::model::{self, Ghosts, Model, NodeEnv};
use crate::swarm::SwarmDraw;
use crate::world::World;

/// The most nodes one scenario may have (the partition table is quadratic in nodes).
pub const MAX_NODES: u64 = 10_000;

/// One `[[cluster]]`: a named group of nodes running one model.
#[derive(Debug)]
pub struct Cluster {
    /// The cluster's name; its nodes are named `NAME1`, `NAME2`, ….
    pub name: String,
    /// The registered model.
    pub spec: &'static model::ModelSpec,
    /// How many nodes.
    pub nodes: u32,
    /// Zones assigned to nodes round-robin (default: one zone named `default`).
    pub zones: Vec<String>,
    /// The model's parsed configuration.
    pub config: Box<dyn Model>,
}

/// A node the scenario will create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodePlan {
    /// Its name.
    pub name: String,
    /// Index of its cluster in [`Scenario::clusters`].
    pub cluster: usize,
    /// Its index inside the cluster.
    pub index: usize,
    /// Its zone.
    pub zone: String,
}

/// A parsed, validated scenario.
#[derive(Debug)]
pub struct Scenario {
    /// The file it came from.
    pub path: PathBuf,
    /// The top-level settings.
    pub spec: FileSpec,
    /// Clusters in file order.
    pub clusters: Vec<Cluster>,
    /// Every node in id order.
    pub nodes: Vec<NodePlan>,
    /// Faults resolved to node ids, in file order.
    pub faults: Vec<ScheduledFault>,
    /// The nemesis resolved to node ids.
    pub nemesis: Option<NemesisConfig>,
    /// The catalog bugs switched on.
    pub bugs: Bugs,
}

/// What a run may change from the file.
#[derive(Clone, Copy, Debug, Default)]
pub struct Overrides {
    /// Replaces the file's seed.
    pub seed: Option<u64>,
    /// Replaces the file's duration.
    pub duration: Option<Duration>,
    /// Replaces the file's trace level.
    pub trace: Option<TraceLevel>,
}

/// Reading a scenario failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid scenario.
    #[error(transparent)]
    Invalid(#[from] Box<ScenarioError>),
}

impl Scenario {
    /// Reads and parses the scenario at `path`.
    pub fn load(path: &Path) -> Result<Scenario, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Scenario::parse(path, &text).map_err(Box::new)?)
    }

    /// Parses scenario `text` that came from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
        let bare = Locator::new(path, text, None);
        let root = DeTable::parse(text).map_err(|e| bare.from_toml(&e))?;
        let loc = Locator::new(path, text, Some(root.clone()));
        let root_span = root.span();
        let mut table = root.into_inner();
        let clusters_value = table.remove("cluster");
        let spec =
            FileSpec::deserialize(toml::de::Deserializer::from(Spanned::new(root_span, table)))
                .map_err(|e| loc.from_toml(&e))?;
        let Some(clusters_value) = clusters_value else {
            return Err(loc.whole(
                "cluster",
                "a scenario needs at least one [[cluster]] table (name, model, nodes)",
            ));
        };
        let clusters = parse_clusters(&loc, clusters_value)?;
        let mut s = Scenario {
            path: path.to_path_buf(),
            spec,
            clusters,
            nodes: Vec::new(),
            faults: Vec::new(),
            nemesis: None,
            bugs: Bugs::default(),
        };
        s.check_bugs(&loc)?;
        s.plan_nodes(&loc)?;
        s.check_models(&loc, text)?;
        s.check_network(&loc)?;
        s.check_clocks(&loc)?;
        s.resolve_faults(&loc)?;
        s.resolve_nemesis(&loc)?;
        s.check_expectations(&loc)?;
        s.check_liveness(&loc)?;
        s.check_swarm(&loc)?;
        Ok(s)
    }

    fn check_bugs(&mut self, loc: &Locator<'_>) -> Result<(), ScenarioError> {
        for name in &self.spec.bugs {
            if crate::bugs::find(name.get_ref()).is_none() {
                let valid: Vec<&str> = crate::bugs::catalog().iter().map(|b| b.name).collect();
                return Err(loc.at(
                    name.span(),
                    Some("bugs"),
                    format!(
                        "unknown bug \"{}\": expected one of {} (`dsim bugs` describes them)",
                        name.get_ref(),
                        valid.join(", ")
                    ),
                ));
            }
        }
        self.bugs = Bugs::from_names(self.spec.bugs.iter().map(|b| b.get_ref().as_str()));
        Ok(())
    }

    fn plan_nodes(&mut self, loc: &Locator<'_>) -> Result<(), ScenarioError> {
        let total: u64 = self.clusters.iter().map(|c| u64::from(c.nodes)).sum();
        if total > MAX_NODES {
            return Err(loc.whole(
                "cluster",
                format!("the scenario has {total} nodes; at most {MAX_NODES} are supported"),
            ));
        }
        let mut names: BTreeMap<String, ()> = BTreeMap::new();
        for (ci, c) in self.clusters.iter().enumerate() {
            if names.insert(c.name.clone(), ()).is_some() {
                return Err(loc.whole(
                    &format!("cluster[{ci}].name"),
                    format!(
                        "two clusters are named \"{}\": cluster names must be unique",
                        c.name
                    ),
                ));
            }
        }
        for (ci, c) in self.clusters.iter().enumerate() {
            for i in 0..c.nodes as usize {
                let name = format!("{}{}", c.name, i + 1);
                if names.insert(name.clone(), ()).is_some() {
                    return Err(loc.whole(
                        &format!("cluster[{ci}].name"),
                        format!("node name \"{name}\" clashes with another node or cluster: rename a cluster"),
                    ));
                }
                let zone = c.zones[i % c.zones.len()].clone();
                self.nodes.push(NodePlan {
                    name,
                    cluster: ci,
                    index: i,
                    zone,
                });
            }
        }
        Ok(())
    }

    fn cluster_map(&self) -> BTreeMap<String, Vec<NodeId>> {
        let mut map: BTreeMap<String, Vec<NodeId>> = BTreeMap::new();
        for c in &self.clusters {
            map.insert(c.name.clone(), Vec::new());
        }
        for (id, n) in self.nodes.iter().enumerate() {
            if let Some(v) = map.get_mut(&self.clusters[n.cluster].name) {
                v.push(NodeId(id as u32));
            }
        }
        map
    }

    fn check_models(&self, loc: &Locator<'_>, text: &str) -> Result<(), ScenarioError> {
        let located = |ci: usize, p: model::ConfigProblem| {
            let key = format!("cluster[{ci}].{}", p.key);
            let span = find_key_span(text, ci, &p.key).unwrap_or(0..0);
            loc.at(span, Some(&key), p.message)
        };
        for (ci, c) in self.clusters.iter().enumerate() {
            for r in c.config.references() {
                self.check_reference(c, &r)
                    .map_err(|message| located(ci, model::ConfigProblem::at(r.key, message)))?;
            }
        }
        let map = self.cluster_map();
        for (ci, c) in self.clusters.iter().enumerate() {
            c.config.check(&map).map_err(|p| located(ci, p))?;
        }
        Ok(())
    }

    /// Whether the cluster `r` names exists and serves what `from` needs of it.
    fn check_reference(&self, from: &Cluster, r: &Reference) -> Result<(), String> {
        let name = r.cluster.name();
        let serving = || {
            let names: Vec<&str> = self
                .clusters
                .iter()
                .filter(|c| c.spec.serves.contains(&r.needs))
                .map(|c| c.name.as_str())
                .collect();
            if names.is_empty() {
                format!("no cluster of this scenario serves {}", r.needs)
            } else {
                format!("clusters that do: {}", names.join(", "))
            }
        };
        let Some(to) = self.clusters.iter().find(|c| c.name == name) else {
            let known: Vec<&str> = self.clusters.iter().map(|c| c.name.as_str()).collect();
            return Err(format!(
                "unknown cluster \"{name}\": expected one of {} ({})",
                known.join(", "),
                serving()
            ));
        };
        if to.spec.serves.contains(&r.needs) {
            return Ok(());
        }
        let serves = if to.spec.serves.is_empty() {
            "serves nothing".to_owned()
        } else {
            let families: Vec<&str> = to.spec.serves.iter().map(|f| f.name).collect();
            format!("serves {}", families.join(" and "))
        };
        Err(format!(
            "cluster \"{name}\" runs model \"{}\", which {serves}; a {}'s {} must serve {} ({})",
            to.spec.name,
            from.spec.name,
            r.key,
            r.needs,
            serving()
        ))
    }

    fn check_network(&self, loc: &Locator<'_>) -> Result<(), ScenarioError> {
        let zones: Vec<&str> = self.nodes.iter().map(|n| n.zone.as_str()).collect();
        for z in &self.spec.network.zones {
            if z.between.is_empty() || z.between.len() > 2 {
                let span = z.between.first().map_or(0..0, |b| b.span());
                return Err(loc.at(
                    span,
                    None,
                    "between takes one zone (links inside it) or two (links between them)",
                ));
            }
            for b in &z.between {
                if !zones.contains(&b.get_ref().as_str()) {
                    let mut known: Vec<&str> = zones.clone();
                    known.sort_unstable();
                    known.dedup();
                    return Err(loc.at(
                        b.span(),
                        None,
                        format!(
                            "unknown zone \"{}\": nodes are in {}",
                            b.get_ref(),
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn check_clocks(&self, loc: &Locator<'_>) -> Result<(), ScenarioError> {
        for name in self.spec.clocks.nodes.keys() {
            if !self.nodes.iter().any(|n| &n.name == name.get_ref()) {
                return Err(loc.at(
                    name.span(),
                    None,
                    format!(
                        "unknown node \"{}\" in [clocks.nodes]: {}",
                        name.get_ref(),
                        self.node_hint()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn node_hint(&self) -> String {
        let mut nodes: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).take(6).collect();
        if self.nodes.len() > 6 {
            nodes.push("…");
        }
        let clusters: Vec<&str> = self.clusters.iter().map(|c| c.name.as_str()).collect();
        format!(
            "expected a node ({}) or a cluster ({})",
            nodes.join(", "),
            clusters.join(", ")
        )
    }

    /// Resolves a node or cluster name to node ids.
    fn resolve(
        &self,
        loc: &Locator<'_>,
        name: &Spanned<String>,
        what: &str,
    ) -> Result<Vec<NodeId>, ScenarioError> {
        let n = name.get_ref();
        if let Some(i) = self.nodes.iter().position(|p| &p.name == n) {
            return Ok(vec![NodeId(i as u32)]);
        }
        if let Some(ci) = self.clusters.iter().position(|c| &c.name == n) {
            return Ok(self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, p)| p.cluster == ci)
                .map(|(i, _)| NodeId(i as u32))
                .collect());
        }
        Err(loc.at(
            name.span(),
            None,
            format!("unknown node \"{n}\" in {what}: {}", self.node_hint()),
        ))
    }

    fn resolve_all(
        &self,
        loc: &Locator<'_>,
        names: &[Spanned<String>],
        what: &str,
    ) -> Result<Vec<NodeId>, ScenarioError> {
        let mut out = Vec::new();
        for n in names {
            for id in self.resolve(loc, n, what)? {
                if !out.contains(&id) {
                    out.push(id);
                }
            }
        }
        Ok(out)
    }

    fn resolve_faults(&mut self, loc: &Locator<'_>) -> Result<(), ScenarioError> {
        let end = *self.spec.duration.get_ref();
        let mut faults = Vec::new();
        for (i, f) in self.spec.faults.iter().enumerate() {
            let at = *f.get_ref().at.get_ref();
            if at > end {
                return Err(loc.at(
                    f.get_ref().at.span(),
                    None,
                    format!("fault at {at} is after the end of the run ({end}): move it earlier or lengthen duration"),
                ));
            }
            let actions = self.fault_actions(loc, f, i)?;
            for action in actions {
                faults.push(ScheduledFault {
                    at: SimTime::ZERO + at,
                    action,
                });
            }
        }
        self.faults = faults;
        Ok(())
    }

    fn fault_actions(
        &self,
        loc: &Locator<'_>,
        f: &Spanned<FaultSpec>,
        i: usize,
    ) -> Result<Vec<FaultAction>, ScenarioError> {
        let spec = f.get_ref();
        let what = |k: &str| format!("faults[{i}].{k}");
        let mut actions: Vec<Vec<FaultAction>> = Vec::new();
        if let Some(groups) = &spec.partition {
            let mut resolved = Vec::new();
            for g in groups {
                resolved.push(self.resolve_all(loc, g, &what("partition"))?);
            }
            if resolved.len() < 2 {
                return Err(loc.at(
                    f.span(),
                    Some(&what("partition")),
                    "a partition needs at least two groups, e.g. [[\"a1\"], [\"a2\", \"a3\"]]",
                ));
            }
            actions.push(vec![FaultAction::Partition(resolved)]);
        }
        if let Some(n) = &spec.isolate {
            actions.push(
                self.resolve(loc, n, &what("isolate"))?
                    .into_iter()
                    .map(FaultAction::Isolate)
                    .collect(),
            );
        }
        if let Some(b) = &spec.block {
            let from = self.resolve_all(loc, &b.from, &what("block.from"))?;
            let to = self.resolve_all(loc, &b.to, &what("block.to"))?;
            actions.push(vec![FaultAction::Block { from, to }]);
        }
        if spec.heal.is_some() {
            actions.push(vec![FaultAction::Heal]);
        }
        let per_node = [
            (
                &spec.crash,
                "crash",
                FaultAction::Crash as fn(NodeId) -> FaultAction,
            ),
            (&spec.restart, "restart", FaultAction::Restart),
            (&spec.pause, "pause", FaultAction::Pause),
            (&spec.resume, "resume", FaultAction::Resume),
        ];
        for (field, key, make) in per_node {
            if let Some(n) = field {
                actions.push(
                    self.resolve(loc, n, &what(key))?
                        .into_iter()
                        .map(make)
                        .collect(),
                );
            }
        }
        if let Some(j) = &spec.clock_jump {
            let nodes = self.resolve(loc, &j.node, &what("clock_jump.node"))?;
            actions.push(
                nodes
                    .into_iter()
                    .map(|node| FaultAction::ClockJump {
                        node,
                        delta_ns: j.by.0,
                    })
                    .collect(),
            );
        }
        if let Some(d) = &spec.drift {
            let ppm = *d.ppm.get_ref();
            if !ppm.is_finite() || ppm.abs() > sim_core::clock::MAX_DRIFT_PPM {
                return Err(loc.at(
                    d.ppm.span(),
                    None,
                    format!(
                        "drift {ppm} ppm is outside ±{}",
                        sim_core::clock::MAX_DRIFT_PPM
                    ),
                ));
            }
            let nodes = self.resolve(loc, &d.node, &what("drift.node"))?;
            actions.push(
                nodes
                    .into_iter()
                    .map(|node| FaultAction::Drift { node, ppm })
                    .collect(),
            );
        }
        if let Some(s) = &spec.latency_spike {
            actions.push(vec![FaultAction::LatencySpike {
                extra: s.extra,
                duration: s.lasting,
            }]);
        }
        if let Some(d) = &spec.delay {
            let from = self.resolve_all(loc, &d.from, &what("delay.from"))?;
            let to = self.resolve_all(loc, &d.to, &what("delay.to"))?;
            actions.push(vec![FaultAction::LinkDelay {
                from,
                to,
                extra: d.extra,
                duration: d.lasting,
            }]);
        }
        if let Some(b) = &spec.loss_burst {
            actions.push(vec![FaultAction::LossBurst {
                loss: b.loss.0,
                duration: b.lasting,
            }]);
        }
        match actions.len() {
            1 => Ok(actions.into_iter().flatten().collect()),
            0 => Err(loc.at(
                f.span(),
                Some(&format!("faults[{i}]")),
                format!("a fault needs one action: one of {FAULT_ACTIONS}"),
            )),
            _ => Err(loc.at(
                f.span(),
                Some(&format!("faults[{i}]")),
                "a fault has exactly one action: split it into several [[faults]] at the same time",
            )),
        }
    }

    fn resolve_nemesis(&mut self, loc: &Locator<'_>) -> Result<(), ScenarioError> {
        let Some(n) = &self.spec.nemesis else {
            return Ok(());
        };
        let spec = n.get_ref();
        if spec.kinds.is_empty() {
            let all: Vec<String> = NemesisKind::ALL
                .iter()
                .map(|k| crate::swarm::kind_name(*k))
                .collect();
            return Err(loc.at(
                n.span(),
                Some("nemesis.kinds"),
                format!("the nemesis needs at least one kind ({})", all.join(", ")),
            ));
        }
        let targets = if spec.targets.is_empty() {
            self.nodes
                .iter()
                .enumerate()
                .filter(|(_, p)| !self.clusters[p.cluster].config.is_client())
                .map(|(i, _)| NodeId(i as u32))
                .collect()
        } else {
            self.resolve_all(loc, &spec.targets, "nemesis.targets")?
        };
        let end = *self.spec.duration.get_ref();
        let stop = match &spec.stop {
            Some(s) if *s.get_ref() > end => {
                return Err(loc.at(
                    s.span(),
                    None,
                    format!(
                        "nemesis stop {} is after the end of the run ({end})",
                        s.get_ref()
                    ),
                ));
            }
            Some(s) => *s.get_ref(),
            None => end,
        };
        if spec.interval.mean().is_none_or(|m| m == Duration::ZERO) {
            return Err(loc.at(
                n.span(),
                Some("nemesis.interval"),
                format!(
                    "nemesis interval {} must have a mean above 0",
                    spec.interval
                ),
            ));
        }
        if spec.start > stop {
            return Err(loc.at(
                n.span(),
                Some("nemesis.start"),
                format!("nemesis start {} is after its stop {stop}", spec.start),
            ));
        }
        self.nemesis = Some(NemesisConfig {
            kinds: spec.kinds.clone(),
            interval: spec.interval,
            duration: spec.duration,
            targets,
            start: SimTime::ZERO + spec.start,
            stop: SimTime::ZERO + stop,
            clock_jump_max: spec.clock_jump_max,
            latency_spike: spec.latency_spike,
            loss_burst: spec.loss_burst.0,
        });
        Ok(())
    }

    fn check_expectations(&self, loc: &Locator<'_>) -> Result<(), ScenarioError> {
        for name in self.spec.expect.keys() {
            if name.get_ref().trim().is_empty() {
                return Err(loc.at(name.span(), None, "an expectation needs a metric name"));
            }
            if let Err(why) = crate::window::split(name.get_ref()) {
                return Err(loc.at(name.span(), None, why));
            }
        }
        Ok(())
    }

    fn check_liveness(&self, loc: &Locator<'_>) -> Result<(), ScenarioError> {
        let Some(l) = &self.spec.liveness else {
            return Ok(());
        };
        let (after, within) = (*l.get_ref().after.get_ref(), *l.get_ref().within.get_ref());
        let end = *self.spec.duration.get_ref();
        if after + within > end {
            return Err(loc.at(
                l.get_ref().within.span(),
                Some("liveness.within"),
                format!(
                    "the quiet phase's deadline ({after} + {within}) is after the end of the run ({end}): lengthen duration or shorten the phase"
                ),
            ));
        }
        if within == Duration::ZERO {
            return Err(loc.at(
                l.get_ref().within.span(),
                Some("liveness.within"),
                "within must be above 0: the system needs time to make progress",
            ));
        }
        if let Some(f) = self
            .spec
            .faults
            .iter()
            .find(|f| *f.get_ref().at.get_ref() >= after)
        {
            return Err(loc.at(
                f.get_ref().at.span(),
                None,
                format!(
                    "fault at {} falls in the quiet phase (from liveness.after = {after} on, faults are off): move it earlier",
                    f.get_ref().at.get_ref()
                ),
            ));
        }
        Ok(())
    }

    fn check_swarm(&self, loc: &Locator<'_>) -> Result<(), ScenarioError> {
        let Some(sw) = &self.spec.swarm else {
            return Ok(());
        };
        if sw.get_ref().kinds.is_empty() {
            let all: Vec<String> = NemesisKind::ALL
                .iter()
                .map(|k| crate::swarm::kind_name(*k))
                .collect();
            return Err(loc.at(
                sw.span(),
                Some("swarm.kinds"),
                format!(
                    "the swarm needs at least one fault kind ({})",
                    all.join(", ")
                ),
            ));
        }
        self.resolve_all(loc, &sw.get_ref().targets, "swarm.targets")?;
        Ok(())
    }

    /// The quiet phase: when it starts and its deadline (true times), if the scenario has one.
    pub fn quiet_phase(&self) -> Option<(SimTime, SimTime)> {
        self.spec.liveness.as_ref().map(|l| {
            let after = SimTime::ZERO + *l.get_ref().after.get_ref();
            (after, after + *l.get_ref().within.get_ref())
        })
    }

    /// The scenario as seed `seed` of a `--swarm` sweep runs it: the `[swarm]` table's draws
    /// written in (see [`crate::swarm`]), and what was drawn. Without a `[swarm]` table that
    /// is an error naming the file.
    pub fn swarm(&self, seed: u64) -> Result<(Scenario, Option<SwarmDraw>), ScenarioError> {
        let Some(spec) = self.spec.swarm.as_ref().map(|s| s.get_ref().clone()) else {
            let text = std::fs::read_to_string(&self.path).unwrap_or_default();
            return Err(Locator::new(&self.path, &text, None).whole(
                "swarm",
                "--swarm needs a [swarm] table saying which faults and network parameters a seed may draw (docs/scenario-format.md)",
            ));
        };
        let draw = spec.draw(seed);
        let overrides = Overrides {
            seed: Some(seed),
            ..Overrides::default()
        };
        let mut root: toml::Table = toml::from_str(&self.to_toml(&overrides)).unwrap_or_default();
        crate::swarm::apply(&mut root, &spec, &draw);
        let text = toml::to_string(&root).unwrap_or_default();
        Ok((Scenario::parse(&self.path, &text)?, Some(draw)))
    }

    /// The scenario's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The seed a run uses: the override, or the file's.
    pub fn seed(&self, overrides: &Overrides) -> u64 {
        overrides.seed.unwrap_or(self.spec.seed)
    }

    /// Builds the simulation for one run.
    pub fn build(&self, overrides: &Overrides) -> Result<Simulation<World>, sim_core::BuildError> {
        let seed = self.seed(overrides);
        let duration = overrides.duration.unwrap_or(*self.spec.duration.get_ref());
        let limits = &self.spec.limits;
        let mut b = SimBuilder::<World>::new(seed)
            .duration(duration)
            .trace_level(overrides.trace.unwrap_or(self.spec.trace))
            .network(self.network_config())
            .limits(sim_core::Limits {
                max_events: limits.max_events,
                max_in_flight: usize::try_from(limits.max_in_flight).unwrap_or(usize::MAX),
                max_timers: usize::try_from(limits.max_timers).unwrap_or(usize::MAX),
                max_held: usize::try_from(limits.max_held).unwrap_or(usize::MAX),
            });
        let map = self.cluster_map();
        let ghosts = Ghosts::default();
        let mut clock_rng = SimRng::new(seed, Stream::Clocks);
        for (id, plan) in self.nodes.iter().enumerate() {
            let cluster = &self.clusters[plan.cluster];
            let mut offset = self.spec.clocks.offset.sample(&mut clock_rng);
            let mut drift = self.spec.clocks.drift_ppm.sample(&mut clock_rng);
            if let Some(o) = self.spec.clocks.nodes.get(plan.name.as_str()) {
                offset = o.offset.map_or(offset, |d| d.0);
                drift = o.drift_ppm.unwrap_or(drift);
            }
            let env = NodeEnv {
                id: NodeId(id as u32),
                index: plan.index,
                cluster: &cluster.name,
                clusters: &map,
                ghosts: &ghosts,
                bugs: &self.bugs,
            };
            b = b.node(
                plan.name.clone(),
                cluster.name.clone(),
                plan.zone.clone(),
                Clock::new(offset, drift),
                cluster.config.factory(&env),
            );
        }
        for f in &self.faults {
            if f.at.0 <= duration.0 {
                b = b.fault(f.at, f.action.clone());
            }
        }
        let quiet = self.quiet_phase().map(|(after, _)| after);
        if let Some(n) = &self.nemesis {
            let mut n = n.clone();
            n.stop = n.stop.min(SimTime::ZERO + duration);
            if let Some(after) = quiet {
                n.stop = n.stop.min(after);
            }
            b = b.nemesis(n);
        }
        if let Some(after) = quiet.filter(|a| a.0 <= duration.0) {
            // The quiet phase: undo every fault that may still be in force.
            for action in [
                FaultAction::Heal,
                FaultAction::LatencySpikeEnd,
                FaultAction::LossBurstEnd,
            ] {
                b = b.fault(after, action);
            }
            // Scheduled link delays end too (only scenarios that have them get these events).
            for f in &self.faults {
                if let FaultAction::LinkDelay { from, to, .. } = &f.action {
                    let end = FaultAction::LinkDelayEnd {
                        from: from.clone(),
                        to: to.clone(),
                    };
                    b = b.fault(after, end);
                }
            }
            // Clocks a `drift` fault sped up or slowed down go back to the drift they were
            // built with ([clocks]); like link delays, only nodes that had one get the event.
            // The skew the scenario gives its clocks is not a fault and stays, and a clock
            // stepped by a `clock_jump` stays where it was stepped to.
            let drifted: BTreeSet<NodeId> = self
                .faults
                .iter()
                .filter_map(|f| match f.action {
                    FaultAction::Drift { node, .. } => Some(node),
                    _ => None,
                })
                .collect();
            for node in drifted {
                b = b.fault(after, FaultAction::DriftEnd(node));
            }
            for id in 0..self.nodes.len() {
                b = b.fault(after, FaultAction::Resume(NodeId(id as u32)));
                b = b.fault(after, FaultAction::Restart(NodeId(id as u32)));
            }
        }
        b.build()
    }

    /// Scheduled faults that fall after `duration` (they will not happen in a shortened run).
    pub fn faults_after(&self, duration: Duration) -> usize {
        self.faults.iter().filter(|f| f.at.0 > duration.0).count()
    }

    fn network_config(&self) -> NetworkConfig {
        let n = &self.spec.network;
        let default = LinkProfile {
            latency: n.latency,
            loss: n.loss.0,
            duplicate: n.duplicate.0,
            fifo: n.fifo,
        };
        let zones = n
            .zones
            .iter()
            .map(|z| {
                let a = z
                    .between
                    .first()
                    .map(|s| s.get_ref().clone())
                    .unwrap_or_default();
                let b = z
                    .between
                    .get(1)
                    .map_or_else(|| a.clone(), |s| s.get_ref().clone());
                ZoneLink {
                    a,
                    b,
                    profile: LinkProfile {
                        latency: z.latency.unwrap_or(default.latency),
                        loss: z.loss.map_or(default.loss, |p| p.0),
                        duplicate: z.duplicate.map_or(default.duplicate, |p| p.0),
                        fifo: z.fifo.unwrap_or(default.fifo),
                    },
                }
            })
            .collect();
        NetworkConfig { default, zones }
    }

    /// The effective scenario as TOML, every default filled in, laid out like a hand-written
    /// scenario ([`layout::render`]); parsing it gives the same run.
    pub fn to_toml(&self, overrides: &Overrides) -> String {
        let mut spec = self.spec.clone();
        spec.seed = self.seed(overrides);
        if let Some(d) = overrides.duration {
            spec.duration = Spanned::new(0..0, d);
            spec.faults.retain(|f| f.get_ref().at.get_ref().0 <= d.0);
        }
        if let Some(t) = overrides.trace {
            spec.trace = t;
        }
        // A TOML integer is an i64: a larger seed is written as digits after serialising.
        let seed = spec.seed;
        spec.seed = 0;
        let mut root = toml::Table::try_from(&spec).unwrap_or_default();
        let big_seed = i64::try_from(seed).is_err();
        root.insert(
            "seed".into(),
            i64::try_from(seed).map_or_else(
                |_| toml::Value::String(seed.to_string()),
                toml::Value::Integer,
            ),
        );
        let clusters: Vec<toml::Value> = self
            .clusters
            .iter()
            .map(|c| {
                let mut t = toml::Table::new();
                t.insert("name".into(), c.name.clone().into());
                t.insert("model".into(), c.spec.name.into());
                t.insert("nodes".into(), i64::from(c.nodes).into());
                t.insert(
                    "zones".into(),
                    toml::Value::Array(c.zones.iter().cloned().map(toml::Value::from).collect()),
                );
                t.extend(c.config.to_table());
                toml::Value::Table(t)
            })
            .collect();
        root.insert("cluster".into(), toml::Value::Array(clusters));
        let text = layout::render(&root, "");
        if big_seed {
            text.replacen(&format!("seed = \"{seed}\""), &format!("seed = {seed}"), 1)
        } else {
            text
        }
    }
}

fn parse_clusters(
    loc: &Locator<'_>,
    value: Spanned<DeValue<'_>>,
) -> Result<Vec<Cluster>, ScenarioError> {
    let span = value.span();
    let DeValue::Array(items) = value.into_inner() else {
        return Err(loc.at(
            span,
            Some("cluster"),
            "cluster must be an array of tables: write [[cluster]]",
        ));
    };
    let mut out = Vec::new();
    for (ci, item) in items.into_iter().enumerate() {
        out.push(parse_cluster(loc, ci, item)?);
    }
    if out.is_empty() {
        return Err(loc.at(
            span,
            Some("cluster"),
            "a scenario needs at least one [[cluster]]",
        ));
    }
    Ok(out)
}

fn take<'a, T: Deserialize<'a>>(
    loc: &Locator<'_>,
    table: &mut DeTable<'a>,
    key: &str,
) -> Result<Option<Spanned<T>>, ScenarioError> {
    let Some(v) = table.remove(key) else {
        return Ok(None);
    };
    let span = v.span();
    let parsed = T::deserialize(ValueDeserializer::from(v)).map_err(|e| {
        let mut err = loc.from_toml(&e);
        if e.span().is_none() {
            err = loc.at(span.clone(), None, err.message);
        }
        err
    })?;
    Ok(Some(Spanned::new(span, parsed)))
}

fn parse_cluster(
    loc: &Locator<'_>,
    ci: usize,
    item: Spanned<DeValue<'_>>,
) -> Result<Cluster, ScenarioError> {
    let span = item.span();
    let key = format!("cluster[{ci}]");
    let DeValue::Table(mut table) = item.into_inner() else {
        return Err(loc.at(
            span,
            Some(&key),
            "each cluster must be a table with name, model and nodes",
        ));
    };
    let name: Spanned<String> = take(loc, &mut table, "name")?.ok_or_else(|| {
        loc.at(
            span.clone(),
            Some(&format!("{key}.name")),
            "missing key `name`: every cluster needs a name",
        )
    })?;
    let n = name.get_ref();
    if n.is_empty()
        || !n
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        || n.starts_with(|c: char| c.is_ascii_digit())
    {
        return Err(loc.at(name.span(), None, format!("cluster name \"{n}\" must be letters, digits, '-' or '_', not starting with a digit")));
    }
    let model_name: Spanned<String> = take(loc, &mut table, "model")?.ok_or_else(|| {
        loc.at(
            span.clone(),
            Some(&format!("{key}.model")),
            format!("missing key `model`: expected one of {}", model_names()),
        )
    })?;
    let Some(spec) = model::find(model_name.get_ref()) else {
        return Err(loc.at(
            model_name.span(),
            None,
            format!(
                "unknown model \"{}\": expected one of {}",
                model_name.get_ref(),
                model_names()
            ),
        ));
    };
    let nodes: Spanned<i64> =
        take(loc, &mut table, "nodes")?.unwrap_or_else(|| Spanned::new(span.clone(), 1));
    if !(1..=10_000).contains(nodes.get_ref()) {
        return Err(loc.at(
            nodes.span(),
            None,
            format!("nodes must be between 1 and 10000, got {}", nodes.get_ref()),
        ));
    }
    let zone: Option<Spanned<String>> = take(loc, &mut table, "zone")?;
    let zones_list: Option<Spanned<Vec<String>>> = take(loc, &mut table, "zones")?;
    let zones = match (zone, zones_list) {
        (Some(_), Some(z)) => {
            return Err(loc.at(z.span(), None, "give either `zone` or `zones`, not both"));
        }
        (Some(z), None) => vec![z.into_inner()],
        (None, Some(z)) if z.get_ref().is_empty() => {
            return Err(loc.at(z.span(), None, "zones must name at least one zone"));
        }
        (None, Some(z)) => z.into_inner(),
        (None, None) => vec!["default".to_owned()],
    };
    let config = (spec.parse)(ValueDeserializer::from(Spanned::new(
        span.clone(),
        DeValue::Table(table),
    )))
    .map_err(|e| {
        let mut err = loc.from_toml(&e);
        if e.span().is_none() || e.span() == Some(span.clone()) {
            err.key.clone_from(&key);
        }
        err.message = err
            .message
            .replace(
                "unknown field",
                &format!("unknown key for model \"{}\":", spec.name),
            )
            .replace(":: ", ": ");
        err
    })?;
    Ok(Cluster {
        name: name.into_inner(),
        spec,
        nodes: *nodes.get_ref() as u32,
        zones,
        config,
    })
}

fn model_names() -> String {
    model::registry()
        .iter()
        .map(|m| m.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Finds the span of the value at the key path `path` (`keys`, `stores[1]`,
/// `routes[2].upstream`) inside the `ci`-th `[[cluster]]` table of `text`, for errors found
/// after parsing. A path that goes nowhere gives the closest enclosing value found.
fn find_key_span(text: &str, ci: usize, path: &str) -> Option<std::ops::Range<usize>> {
    let root = DeTable::parse(text).ok()?;
    let clusters = root.get_ref().get("cluster")?;
    let DeValue::Array(items) = clusters.get_ref() else {
        return None;
    };
    let mut at = items.get(ci)?;
    let mut found = None;
    for step in key_path_steps(path) {
        let next = match (step, at.get_ref()) {
            (PathStep::Key(k), DeValue::Table(t)) => t.get(k),
            (PathStep::Index(i), DeValue::Array(a)) => a.get(i),
            _ => None,
        };
        let Some(next) = next else {
            break;
        };
        found = Some(next.span());
        at = next;
    }
    found
}

/// One step of a key path: a key of a table or an index into an array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PathStep<'a> {
    Key(&'a str),
    Index(usize),
}

/// The steps of a key path such as `routes[2].upstream`: `routes`, `2`, `upstream`.
fn key_path_steps(path: &str) -> impl Iterator<Item = PathStep<'_>> {
    path.split('.').flat_map(|part| {
        let (key, indexes) = part.split_once('[').unwrap_or((part, ""));
        let key = (!key.is_empty()).then_some(PathStep::Key(key));
        let indexes = indexes
            .split('[')
            .filter_map(|i| i.trim_end_matches(']').parse().ok())
            .map(PathStep::Index);
        key.into_iter().chain(indexes)
    })
}

#[cfg(test)]
mod path_tests {
    use super::*;

    #[test]
    fn key_paths_walk_tables_and_arrays() {
        let steps: Vec<_> = key_path_steps("routes[2].upstream").collect();
        assert_eq!(
            steps,
            [
                PathStep::Key("routes"),
                PathStep::Index(2),
                PathStep::Key("upstream")
            ]
        );
        let text = "[[cluster]]\nname = \"a\"\n\n[[cluster]]\nname = \"b\"\nstores = [\"x\", \"y\"]\nroutes = [{ upstream = \"u\" }]\n";
        let span = find_key_span(text, 1, "stores[1]").expect("found");
        assert_eq!(&text[span], "\"y\"");
        let span = find_key_span(text, 1, "routes[0].upstream").expect("found");
        assert_eq!(&text[span], "\"u\"");
        let span = find_key_span(text, 1, "stores[7]").expect("the array at least");
        assert_eq!(&text[span], "[\"x\", \"y\"]");
    }
}
