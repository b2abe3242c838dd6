//! Comparing numbers with an explicit tolerance, reporting the worst element when they differ.

/// Panics unless every `actual[i]` is within `atol + rtol * |expected[i]|` of `expected[i]`.
/// The message names the first worst index, both values and the tolerance, so a failure is readable.
#[track_caller]
pub fn assert_close(actual: &[f32], expected: &[f32], atol: f32, rtol: f32) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "length differs: {} vs {}",
        actual.len(),
        expected.len()
    );
    let mut worst: Option<(usize, f32)> = None;
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let excess = (a - e).abs() - (atol + rtol * e.abs());
        if !(excess <= 0.0) && worst.is_none_or(|(_, w)| excess > w || excess.is_nan()) {
            worst = Some((i, excess));
        }
    }
    if let Some((i, _)) = worst {
        panic!(
            "values differ at index {i}: actual {} vs expected {} (atol {atol}, rtol {rtol}, |diff| {})",
            actual[i],
            expected[i],
            (actual[i] - expected[i]).abs()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_within_tolerance_pass() {
        assert_close(&[1.0, 2.00001], &[1.0, 2.0], 1e-4, 0.0);
    }

    #[test]
    #[should_panic(expected = "index 1")]
    fn the_worst_difference_is_named() {
        assert_close(&[1.0, 3.0], &[1.0, 2.0], 1e-4, 0.0);
    }

    #[test]
    #[should_panic(expected = "index 0")]
    fn nan_never_passes() {
        assert_close(&[f32::NAN], &[1.0], 1e-4, 0.0);
    }
}
