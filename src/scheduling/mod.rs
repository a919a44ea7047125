//! The pure scheduling core: no I/O, no clocks; `now` is always a parameter.
//!
//! - [`interval`]: UTC intervals, merging, overlap checks.
//! - [`hours`]: weekdays and wall-clock ranges.
//! - [`parse`]: the texts users type (`days`, `hours`, `date`, timezones).

pub mod availability;
pub mod booking;
pub mod hours;
pub mod interval;
pub mod local_time;
pub mod parse;
pub mod slots;
