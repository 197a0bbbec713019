//! The nemesis: a schedule of faults drawn from the seed, applied to the
//! simulation from the outer `sim.step()` loop (crash and restart exist
//! only on `Sim`, not inside a host).
//!
//! Swarm testing, as TigerBeetle's VOPR does it: each seed enables its own
//! subset of fault kinds ([`FaultMix`]) with its own intensity, so some
//! seeds hammer one fault while others mix many.
//!
//! Faults that act on the same thing do not overlap: at most one network
//! fault (partition, one-way partition, hold, pause, which holds links) at
//! a time, one process fault (crash, bounce), one clock drift, one latency
//! change and one disk fault. turmoil's link states do not stack, and this
//! keeps every heal exact.

use crate::fault::HostControl;
use rand_chacha::rand_core::RngCore;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// A uniform draw in `lo..=hi`.
pub fn between(rng: &mut ChaCha8Rng, lo: u64, hi: u64) -> u64 {
    lo + rng.next_u64() % (hi.saturating_sub(lo) + 1)
}

/// True with probability `percent` / 100.
pub fn chance(rng: &mut ChaCha8Rng, percent: u64) -> bool {
    rng.next_u64() % 100 < percent
}

/// The kinds of fault a seed may enable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    /// Power loss: the host stops at once (unsynced writes dropped) and
    /// boots again after a while.
    Crash,
    /// Kill and restart at once (the page cache survives).
    Bounce,
    /// A server cut off from some clients, both ways.
    Partition,
    /// Messages lost in one direction only.
    PartitionOneWay,
    /// Messages delayed, not lost (turmoil `hold`, then `release`).
    Hold,
    /// A higher maximum message latency for every link.
    Latency,
    /// A server's wall clock jumps forward or back.
    ClockJump,
    /// A server's wall clock runs fast or slow.
    ClockDrift,
    /// A server stops processing (pause gate) and its links are held.
    Pause,
    /// fsync errors, lost writes, disk full or bit flips at rest (no effect
    /// until the core persists).
    Disk,
}

impl FaultKind {
    pub const ALL: [FaultKind; 10] = [
        FaultKind::Crash,
        FaultKind::Bounce,
        FaultKind::Partition,
        FaultKind::PartitionOneWay,
        FaultKind::Hold,
        FaultKind::Latency,
        FaultKind::ClockJump,
        FaultKind::ClockDrift,
        FaultKind::Pause,
        FaultKind::Disk,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Crash => "crash",
            FaultKind::Bounce => "bounce",
            FaultKind::Partition => "partition",
            FaultKind::PartitionOneWay => "partition-oneway",
            FaultKind::Hold => "hold",
            FaultKind::Latency => "latency",
            FaultKind::ClockJump => "clock-jump",
            FaultKind::ClockDrift => "clock-drift",
            FaultKind::Pause => "pause",
            FaultKind::Disk => "disk",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Faults in the same slot never overlap.
    fn slot(self) -> Slot {
        match self {
            FaultKind::Crash | FaultKind::Bounce => Slot::Process,
            FaultKind::Partition
            | FaultKind::PartitionOneWay
            | FaultKind::Hold
            | FaultKind::Pause => Slot::Network,
            FaultKind::Latency => Slot::Latency,
            FaultKind::ClockJump | FaultKind::ClockDrift => Slot::Clock,
            FaultKind::Disk => Slot::Disk,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Process,
    Network,
    Latency,
    Clock,
    Disk,
}

/// A disk fault (see [`crate::fault_disk`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiskFault {
    FsyncErrors(u32),
    LostWrites(u32),
    Full,
    BitFlips(u32),
}

/// One concrete fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    Crash { host: String },
    Bounce { host: String },
    Partition { host: String, peers: Vec<String> },
    PartitionOneWay { from: String, to: String },
    Hold { host: String, peers: Vec<String> },
    Latency { max_ms: u64 },
    ClockJump { host: String, delta_ms: i64 },
    ClockDrift { host: String, ppm: i64 },
    Pause { host: String },
    Disk { host: String, fault: DiskFault },
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Crash { host } => write!(f, "crash {host}"),
            Fault::Bounce { host } => write!(f, "bounce {host}"),
            Fault::Partition { host, peers } => write!(f, "partition {host} | {}", peers.join(",")),
            Fault::PartitionOneWay { from, to } => write!(f, "partition-oneway {from} -> {to}"),
            Fault::Hold { host, peers } => write!(f, "hold {host} | {}", peers.join(",")),
            Fault::Latency { max_ms } => write!(f, "latency max {max_ms} ms"),
            Fault::ClockJump { host, delta_ms } => write!(f, "clock-jump {host} {delta_ms:+} ms"),
            Fault::ClockDrift { host, ppm } => write!(f, "clock-drift {host} {ppm:+} ppm"),
            Fault::Pause { host } => write!(f, "pause {host}"),
            Fault::Disk { host, fault } => write!(f, "disk {host} {fault:?}"),
        }
    }
}

/// Which faults a seed uses, and how hard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultMix {
    pub kinds: Vec<FaultKind>,
    /// Time between two fault starts: drawn in this range.
    pub gap_ms: (u64, u64),
    /// How long a fault lasts: drawn in this range.
    pub duration_ms: (u64, u64),
}

impl FaultMix {
    /// A mix drawn from `rng` among `allowed`: each kind in with even odds
    /// (at least one), a gap and a duration range.
    pub fn draw(rng: &mut ChaCha8Rng, allowed: &[FaultKind]) -> FaultMix {
        let mut kinds: Vec<FaultKind> = allowed
            .iter()
            .copied()
            .filter(|_| chance(rng, 50))
            .collect();
        if kinds.is_empty() && !allowed.is_empty() {
            let pick = usize::try_from(rng.next_u64() % allowed.len() as u64).unwrap_or(0);
            kinds.push(allowed[pick]);
        }
        let gap_lo = between(rng, 100, 1000);
        let gap_hi = gap_lo * between(rng, 2, 5);
        let dur_lo = between(rng, 50, 500);
        let dur_hi = dur_lo * between(rng, 2, 10);
        FaultMix {
            kinds,
            gap_ms: (gap_lo, gap_hi),
            duration_ms: (dur_lo, dur_hi),
        }
    }
}

impl fmt::Display for FaultMix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.kinds.iter().map(|k| k.name()).collect();
        write!(
            f,
            "{} (a fault every {}..{} ms, lasting {}..{} ms)",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(",")
            },
            self.gap_ms.0,
            self.gap_ms.1,
            self.duration_ms.0,
            self.duration_ms.1
        )
    }
}

/// Start a fault, or heal it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Start(Fault),
    Heal(Fault),
}

/// One step of the schedule, at a virtual time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub at_ms: u64,
    pub step: Step,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.step {
            Step::Start(fault) => write!(f, "{:>7} ms  {fault}", self.at_ms),
            Step::Heal(fault) => write!(f, "{:>7} ms  heal {fault}", self.at_ms),
        }
    }
}

/// The hosts a schedule can name.
#[derive(Debug, Clone)]
pub struct Cast {
    pub servers: Vec<String>,
    pub clients: Vec<String>,
}

/// Draws a schedule for `[0, until_ms)`: every fault healed by `until_ms`.
pub fn schedule(rng: &mut ChaCha8Rng, mix: &FaultMix, cast: &Cast, until_ms: u64) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut busy_until: BTreeMap<Slot, u64> = BTreeMap::new();
    if mix.kinds.is_empty() || cast.servers.is_empty() {
        return actions;
    }
    let mut at = between(rng, mix.gap_ms.0, mix.gap_ms.1);
    while at < until_ms {
        let pick = usize::try_from(rng.next_u64() % mix.kinds.len() as u64).unwrap_or(0);
        let kind = mix.kinds[pick];
        let fault = draw_fault(rng, kind, cast);
        let lasts = between(rng, mix.duration_ms.0, mix.duration_ms.1);
        let free = busy_until.get(&kind.slot()).is_none_or(|&t| t <= at);
        if free {
            let heal_at = (at + lasts).min(until_ms);
            busy_until.insert(kind.slot(), heal_at);
            actions.push(Action {
                at_ms: at,
                step: Step::Start(fault.clone()),
            });
            if needs_heal(&fault) {
                actions.push(Action {
                    at_ms: heal_at,
                    step: Step::Heal(fault),
                });
            }
        }
        at += between(rng, mix.gap_ms.0, mix.gap_ms.1);
    }
    // Stable: a heal and a start at the same time keep their drawn order.
    actions.sort_by_key(|a| a.at_ms);
    actions
}

/// Instant faults (a bounce, a clock jump, disk faults other than full)
/// have nothing to undo.
fn needs_heal(fault: &Fault) -> bool {
    !matches!(
        fault,
        Fault::Bounce { .. }
            | Fault::ClockJump { .. }
            | Fault::Disk {
                fault: DiskFault::FsyncErrors(_)
                    | DiskFault::LostWrites(_)
                    | DiskFault::BitFlips(_),
                ..
            }
    )
}

fn pick<'a>(rng: &mut ChaCha8Rng, names: &'a [String]) -> &'a String {
    &names[usize::try_from(rng.next_u64() % names.len() as u64).unwrap_or(0)]
}

/// A non-empty subset of `names`.
fn some_of(rng: &mut ChaCha8Rng, names: &[String]) -> Vec<String> {
    let mut chosen: Vec<String> = names.iter().filter(|_| chance(rng, 50)).cloned().collect();
    if chosen.is_empty() {
        chosen.push(pick(rng, names).clone());
    }
    chosen
}

fn draw_fault(rng: &mut ChaCha8Rng, kind: FaultKind, cast: &Cast) -> Fault {
    let host = pick(rng, &cast.servers).clone();
    let peers: Vec<String> = cast
        .servers
        .iter()
        .chain(&cast.clients)
        .filter(|h| **h != host)
        .cloned()
        .collect();
    match kind {
        FaultKind::Crash => Fault::Crash { host },
        FaultKind::Bounce => Fault::Bounce { host },
        FaultKind::Partition => Fault::Partition {
            peers: some_of(rng, &peers),
            host,
        },
        FaultKind::PartitionOneWay => {
            let peer = pick(rng, &peers).clone();
            if chance(rng, 50) {
                Fault::PartitionOneWay {
                    from: host,
                    to: peer,
                }
            } else {
                Fault::PartitionOneWay {
                    from: peer,
                    to: host,
                }
            }
        }
        FaultKind::Hold => Fault::Hold {
            peers: some_of(rng, &peers),
            host,
        },
        FaultKind::Latency => Fault::Latency {
            max_ms: between(rng, 50, 500),
        },
        FaultKind::ClockJump => {
            let delta = i64::try_from(between(rng, 1, 60_000)).unwrap_or(1);
            Fault::ClockJump {
                host,
                delta_ms: if chance(rng, 50) { delta } else { -delta },
            }
        }
        FaultKind::ClockDrift => {
            // Far beyond real quartz (tens of ppm), so that a run of seconds
            // sees it: up to 20% fast or slow.
            let ppm = i64::try_from(between(rng, 1_000, 200_000)).unwrap_or(1_000);
            Fault::ClockDrift {
                host,
                ppm: if chance(rng, 50) { ppm } else { -ppm },
            }
        }
        FaultKind::Pause => Fault::Pause { host },
        FaultKind::Disk => {
            let n = u32::try_from(between(rng, 1, 3)).unwrap_or(1);
            let fault = match rng.next_u64() % 4 {
                0 => DiskFault::FsyncErrors(n),
                1 => DiskFault::LostWrites(n),
                2 => DiskFault::Full,
                _ => DiskFault::BitFlips(n),
            };
            Fault::Disk { host, fault }
        }
    }
}

/// Applies faults to a running simulation and remembers what it did.
pub struct Nemesis {
    hosts: BTreeMap<String, HostControl>,
    /// Every host of the simulation, servers and clients.
    everyone: Vec<String>,
    baseline_latency_ms: u64,
    /// Every action applied, with its time: part of the trace.
    pub log: Vec<String>,
}

impl Nemesis {
    pub fn new(servers: &[HostControl], clients: &[String], baseline_latency_ms: u64) -> Self {
        let hosts: BTreeMap<String, HostControl> = servers
            .iter()
            .map(|h| (h.name.clone(), h.clone()))
            .collect();
        let everyone = hosts
            .keys()
            .cloned()
            .chain(clients.iter().cloned())
            .collect();
        Nemesis {
            hosts,
            everyone,
            baseline_latency_ms,
            log: Vec::new(),
        }
    }

    fn host(&self, name: &str) -> &HostControl {
        &self.hosts[name]
    }

    fn others(&self, host: &str) -> Vec<String> {
        self.everyone
            .iter()
            .filter(|h| h.as_str() != host)
            .cloned()
            .collect()
    }

    /// Applies one scheduled action at the simulation's current time.
    pub fn apply(&mut self, sim: &mut turmoil::Sim<'_>, action: &Action) {
        let now = sim_ms(sim);
        self.log
            .push(format!("{now:>7} ms  {}", display_step(&action.step)));
        match &action.step {
            Step::Start(fault) => self.start(sim, fault),
            Step::Heal(fault) => self.heal(sim, fault),
        }
    }

    fn start(&mut self, sim: &mut turmoil::Sim<'_>, fault: &Fault) {
        match fault {
            Fault::Crash { host } => {
                sim.crash(host.as_str());
                self.host(host).disk.power_loss();
            }
            Fault::Bounce { host } => sim.bounce(host.as_str()),
            Fault::Partition { host, peers } => {
                for peer in peers {
                    sim.partition(host.as_str(), peer.as_str());
                }
            }
            Fault::PartitionOneWay { from, to } => sim.partition_oneway(from.as_str(), to.as_str()),
            Fault::Hold { host, peers } => {
                for peer in peers {
                    sim.hold(host.as_str(), peer.as_str());
                }
            }
            Fault::Latency { max_ms } => {
                sim.set_max_message_latency(Duration::from_millis(*max_ms))
            }
            Fault::ClockJump { host, delta_ms } => self.host(host).skew.jump(*delta_ms),
            Fault::ClockDrift { host, ppm } => {
                let true_ms = true_unix_ms(sim);
                self.host(host).skew.set_drift(*ppm, true_ms);
            }
            Fault::Pause { host } => {
                self.host(host).pause.pause();
                for peer in self.others(host) {
                    sim.hold(host.as_str(), peer.as_str());
                }
            }
            Fault::Disk { host, fault } => {
                let disk = &self.host(host).disk;
                match fault {
                    DiskFault::FsyncErrors(n) => disk.fail_next_syncs(*n),
                    DiskFault::LostWrites(n) => disk.lose_next_writes(*n),
                    DiskFault::Full => disk.set_full(true),
                    DiskFault::BitFlips(n) => disk.flip_bits_at_rest(*n),
                }
            }
        }
    }

    fn heal(&mut self, sim: &mut turmoil::Sim<'_>, fault: &Fault) {
        match fault {
            Fault::Crash { host } => sim.bounce(host.as_str()),
            Fault::Partition { host, peers } => {
                for peer in peers {
                    sim.repair(host.as_str(), peer.as_str());
                }
            }
            Fault::PartitionOneWay { from, to } => sim.repair_oneway(from.as_str(), to.as_str()),
            Fault::Hold { host, peers } => {
                for peer in peers {
                    sim.release(host.as_str(), peer.as_str());
                }
            }
            Fault::Latency { .. } => {
                sim.set_max_message_latency(Duration::from_millis(self.baseline_latency_ms))
            }
            Fault::ClockDrift { host, .. } => {
                let true_ms = true_unix_ms(sim);
                self.host(host).skew.set_drift(0, true_ms);
            }
            Fault::Pause { host } => {
                for peer in self.others(host) {
                    sim.release(host.as_str(), peer.as_str());
                }
                self.host(host).pause.resume();
            }
            Fault::Disk { host, .. } => self.host(host).disk.set_full(false),
            Fault::Bounce { .. } | Fault::ClockJump { .. } => {}
        }
    }

    /// The start of the liveness phase: whatever the schedule left, every
    /// host runs, every link delivers (held messages released), latency
    /// and clock rates are back to normal and no pause gate is closed.
    /// Clock offsets stay: setting them back would be one more jump.
    pub fn heal_everything(&mut self, sim: &mut turmoil::Sim<'_>) {
        let now = sim_ms(sim);
        self.log.push(format!("{now:>7} ms  heal everything"));
        let true_ms = true_unix_ms(sim);
        for (name, host) in &self.hosts {
            if !sim.is_host_running(name.as_str()) {
                sim.bounce(name.as_str());
            }
            host.pause.resume();
            host.skew.set_drift(0, true_ms);
            host.disk.set_full(false);
        }
        for (i, a) in self.everyone.iter().enumerate() {
            for b in &self.everyone[i + 1..] {
                sim.release(a.as_str(), b.as_str());
                sim.repair(a.as_str(), b.as_str());
            }
        }
        sim.set_max_message_latency(Duration::from_millis(self.baseline_latency_ms));
    }
}

fn display_step(step: &Step) -> String {
    match step {
        Step::Start(fault) => fault.to_string(),
        Step::Heal(fault) => format!("heal {fault}"),
    }
}

/// The simulation's elapsed virtual time, in milliseconds.
pub fn sim_ms(sim: &turmoil::Sim<'_>) -> u64 {
    keel_net::clock::millis(sim.elapsed())
}

fn true_unix_ms(sim: &turmoil::Sim<'_>) -> u64 {
    keel_net::clock::millis(sim.since_epoch())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    fn cast() -> Cast {
        Cast {
            servers: vec!["server0".into(), "server1".into()],
            clients: vec!["client0".into(), "client1".into()],
        }
    }

    #[test]
    fn schedules_come_from_the_seed_and_heal_in_time() {
        let draw = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mix = FaultMix::draw(&mut rng, &FaultKind::ALL);
            (mix.clone(), schedule(&mut rng, &mix, &cast(), 20_000))
        };
        assert_eq!(draw(5), draw(5));
        assert_ne!(draw(5).1, draw(6).1);
        for seed in 0..50 {
            let (mix, actions) = draw(seed);
            assert!(!mix.kinds.is_empty());
            assert!(actions.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
            let starts: Vec<&Fault> = actions
                .iter()
                .filter_map(|a| match &a.step {
                    Step::Start(f) => Some(f),
                    Step::Heal(_) => None,
                })
                .collect();
            for a in &actions {
                assert!(a.at_ms <= 20_000, "seed {seed}: {a}");
                if let Step::Heal(f) = &a.step {
                    assert!(
                        starts.contains(&f),
                        "seed {seed}: heal of a fault never started"
                    );
                }
            }
            for f in starts.iter().filter(|f| needs_heal(f)) {
                let heals = actions
                    .iter()
                    .filter(|a| a.step == Step::Heal((*f).clone()));
                assert!(heals.count() >= 1, "seed {seed}: {f} is never healed");
            }
        }
    }

    #[test]
    fn faults_in_one_slot_never_overlap() {
        for seed in 0..50 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mix = FaultMix::draw(&mut rng, &FaultKind::ALL);
            let actions = schedule(&mut rng, &mix, &cast(), 30_000);
            let mut open: BTreeMap<Slot, Fault> = BTreeMap::new();
            for a in &actions {
                match &a.step {
                    Step::Start(f) => {
                        let slot = kind_of(f).slot();
                        assert!(!open.contains_key(&slot), "seed {seed}: {f} overlaps");
                        if needs_heal(f) {
                            open.insert(slot, f.clone());
                        }
                    }
                    Step::Heal(f) => {
                        assert_eq!(open.remove(&kind_of(f).slot()).as_ref(), Some(f));
                    }
                }
            }
        }
    }

    fn kind_of(fault: &Fault) -> FaultKind {
        match fault {
            Fault::Crash { .. } => FaultKind::Crash,
            Fault::Bounce { .. } => FaultKind::Bounce,
            Fault::Partition { .. } => FaultKind::Partition,
            Fault::PartitionOneWay { .. } => FaultKind::PartitionOneWay,
            Fault::Hold { .. } => FaultKind::Hold,
            Fault::Latency { .. } => FaultKind::Latency,
            Fault::ClockJump { .. } => FaultKind::ClockJump,
            Fault::ClockDrift { .. } => FaultKind::ClockDrift,
            Fault::Pause { .. } => FaultKind::Pause,
            Fault::Disk { .. } => FaultKind::Disk,
        }
    }
}
