//! The run loop's policy, shared by the command line and the dashboard:
//! when to checkpoint (make the backend's snapshot current), and what to
//! do when the GPU device is lost (continue on the CPU reference, replayed
//! from the snapshot so nothing is lost) or refuses work (stop: a shader
//! or dispatch bug is never papered over by a fallback).

use super::{Machine, MachineError};
use crate::engine::EngineError;
use web_time::{Duration, Instant};

/// What happened while advancing.
#[derive(Clone, Debug, PartialEq)]
pub enum RunEvent {
    /// The GPU was lost; the run continues on the CPU reference, replayed
    /// from the snapshot of `from_tick` to `to_tick`.
    Recovered {
        reason: String,
        from_tick: u64,
        to_tick: u64,
    },
}

impl std::fmt::Display for RunEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunEvent::Recovered {
                reason,
                from_tick,
                to_tick,
            } => write!(
                f,
                "the GPU backend failed ({reason}); the run continues on the CPU reference, replayed from the snapshot of tick {from_tick} to tick {to_tick} (nothing lost)"
            ),
        }
    }
}

/// When to checkpoint.
#[derive(Clone, Debug)]
pub struct RunLoop {
    /// At most this many ticks between checkpoints (`run`: 10% of the run).
    pub every_ticks: Option<u64>,
    /// At least this much wall time between checkpoints (the dashboard),
    /// and at least 50 times what the last one cost, so checkpoints never
    /// take more than 2% of the time.
    pub every_wall: Option<Duration>,
    last_tick: u64,
    last_at: Option<(Instant, Duration)>,
    /// A checkpoint download in flight (the dashboard's, asynchronous).
    in_flight: Option<Instant>,
}

impl RunLoop {
    /// Checkpoints every `ticks` ticks (the command line).
    pub fn every_ticks(ticks: u64) -> RunLoop {
        RunLoop {
            every_ticks: Some(ticks.max(1)),
            every_wall: None,
            last_tick: 0,
            last_at: None,
            in_flight: None,
        }
    }

    /// Checkpoints every `d` of wall time or more (the dashboard).
    pub fn every_wall(d: Duration) -> RunLoop {
        RunLoop {
            every_ticks: None,
            every_wall: Some(d),
            last_tick: 0,
            last_at: None,
            in_flight: None,
        }
    }

    /// Forgets the last checkpoint (a new machine, a backend switch).
    pub fn reset(&mut self, tick: u64) {
        self.last_tick = tick;
        self.last_at = None;
        self.in_flight = None;
    }

    /// What to do with an error from the machine: a lost device is
    /// recovered from (the event says how); anything else stays an error.
    pub fn on_error(&mut self, m: &mut Machine, e: MachineError) -> Result<RunEvent, MachineError> {
        match &e {
            MachineError::Engine(ee)
                if ee.is_device_loss() && m.backend_mut().as_gpu().is_some() =>
            {
                let reason = ee.to_string();
                let from_tick = m.recover_on_cpu()?;
                self.reset(m.tick);
                Ok(RunEvent::Recovered {
                    reason,
                    from_tick,
                    to_tick: m.tick,
                })
            }
            _ => Err(e),
        }
    }

    /// Advances `n` ticks (blocking), checkpointing when due and
    /// recovering from a lost device (then the ticks not run yet run on
    /// the CPU reference).
    pub fn advance(&mut self, m: &mut Machine, n: u64) -> Result<Vec<RunEvent>, MachineError> {
        let end = m.tick + n;
        let mut events = Vec::new();
        while m.tick < end {
            let k = match self.every_ticks {
                Some(every) => (self.last_tick + every).max(m.tick + 1).min(end) - m.tick,
                None => end - m.tick,
            };
            if let Err(e) = m.advance(k) {
                events.push(self.on_error(m, e)?);
                continue;
            }
            if self
                .every_ticks
                .is_some_and(|e| m.tick >= self.last_tick + e)
            {
                if m.backend_mut().as_gpu().is_some() {
                    if let Err(e) = m.checkpoint() {
                        events.push(self.on_error(m, e)?);
                        continue;
                    }
                }
                self.last_tick = m.tick;
            }
        }
        Ok(events)
    }

    /// The dashboard's checkpoint, never blocking: starts a full download
    /// when one is due, finishes it when it has arrived. Returns an error
    /// the caller hands to `on_error`.
    pub fn poll_checkpoint(&mut self, m: &mut Machine) -> Result<(), MachineError> {
        let Some(g) = m.backend_mut().as_gpu() else {
            return Ok(());
        };
        if let Some(t0) = self.in_flight {
            if g.downloading() {
                if let Some(Err(e)) = g.poll_download() {
                    self.in_flight = None;
                    return Err(e.into());
                }
            }
            if !g.downloading() {
                self.in_flight = None;
                self.last_at = Some((Instant::now(), t0.elapsed()));
            }
            return Ok(());
        }
        let every = self.every_wall.unwrap_or(Duration::from_secs(10));
        let (t, cost) = *self.last_at.get_or_insert((Instant::now(), Duration::ZERO));
        if t.elapsed() < (cost * 50).max(every) {
            return Ok(());
        }
        g.begin_download().map_err(MachineError::from)?;
        self.in_flight = Some(Instant::now());
        Ok(())
    }
}

impl From<RunEvent> for String {
    fn from(e: RunEvent) -> String {
        e.to_string()
    }
}

/// Whether an engine error means the device is gone.
pub fn is_device_loss(e: &MachineError) -> bool {
    matches!(e, MachineError::Engine(EngineError::DeviceLost(_)))
}
