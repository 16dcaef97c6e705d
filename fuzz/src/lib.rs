//! Helpers of the fuzz targets: the structured segment format and the checks each target runs.
pub mod segments;

pub mod checks;
