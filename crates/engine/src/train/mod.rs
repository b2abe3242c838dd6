//! Training: the loop and its parts (optimiser, schedule, clipping, loss, batching, checkpoints,
//! events, cancellation, early stopping, defaults), generic over [`TrainTask`].

pub mod batching;
pub mod checkpoint;
pub mod clip;
pub mod defaults;
pub mod early_stop;
pub mod events;
pub mod loss;
pub mod optim;
pub mod rng;
pub mod schedule;
pub mod schedule_plan;
pub mod trainable;
pub mod trainer;

pub use tunesmith_vocab::CancelHandle;
pub use defaults::{defaults, Defaults, Method};
pub use early_stop::EarlyStopping;
pub use events::{Metrics, PrepStage, TrainEvent};
pub use optim::{AdamW, AdamWConfig};
pub use rng::Rng;
pub use schedule::{Decay, Schedule};
pub use schedule_plan::{plan, Overrides, PlanInput, PlanTask, SchedulePlan};
pub use trainable::{BatchLoss, TrainTask};
pub use trainer::{train, TrainConfig, TrainOptions, TrainOutcome, TrainStatus};

#[cfg(test)]
mod tests;
