"""What the paper reads off each figure, paired with the claims that test that reading.

`gradfail report` embeds each figure in claims.md next to its claims, with the paper's reading (by eye,
shared/research/paper_digest.md §1.7, §2.1-2.3, §3.4-3.8, §4.2-4.5) beside this run's verdicts. A reading
with no claim (None) is shown for context only. tests/test_report.py checks that every figure has readings
and that every claim id named here is registered.
"""

from __future__ import annotations

READINGS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "fig1_parity": (
        ("d = 5: accuracy 1.0 by about 2,000 SGD iterations", "parity.sgd_learns_small_d"),
        ("d = 10: chance until about 6,000, 0.95 at 9,000-10,000, 1.0 from about 20,000",
         "parity.sgd_learns_d10_slowly"),
        ("d = 30: chance (0.5 +- 0.03) for all 50,000 iterations", "parity.sgd_fails_large_d"),
    ),
    "fig3_tuples": (
        ("k = 1: both methods reach 0.97-1.0 almost at once", "end_to_end.both_learn_single_image"),
        ("k = 3: decomposition learns while end-to-end does not", "end_to_end.decomposition_beats_end_to_end"),
        ("k >= 3: end-to-end stays at chance for 20,000 iterations", "end_to_end.end_to_end_fails_k3"),
        ("k = 3, 4: decomposition reaches 0.85-0.9 within 2,500 iterations", "end_to_end.decomposition_learns_k4"),
    ),
    "fig4_stocks": (
        ("k = 10: both estimators reach -1 within about 200-300 iterations", "end_to_end.stocks_both_learn_small_k"),
        ("k = 1000: decomposition descends to -1 at about 2,200 iterations",
         "end_to_end.stocks_decomposition_learns_large_k"),
        ("k = 1000: end-to-end plateaus at -0.25...-0.37", "end_to_end.stocks_end_to_end_stalls_large_k"),
        ("k = 2000: end-to-end at -0.15...-0.25 after 2,500 iterations", None),
    ),
    "fig5_snr": (
        ("end-to-end SNR drops to ~0 at k = 2 and below float32 precision for k >= 3", "end_to_end.snr_falls_with_k"),
        ("end-to-end SNR far below the decomposition's", "end_to_end.snr_far_below_decomposition"),
        ("decomposition SNR roughly constant in k", "end_to_end.decomposition_snr_flat"),
    ),
    "fig6_conditioning": (
        ("no figure in the paper; Theorem 3: kappa(W) = Omega(n^3.5)", "conditioning.fc_condition_number_grows_like_n4"),
        ("Appendix A.5-A.6: kappa(C) = Theta(n^3) for the convolution", "conditioning.conv_condition_number_grows_like_n3"),
        ("Section 4.1.3: whitening makes the conditioning O(1)", "conditioning.whitening_makes_second_moment_identity"),
    ),
    "fig6_curves": (
        ("(a) fully connected: close at 500 iterations but still off at 50,000", "conditioning.fc_loss_still_high_after_50k"),
        ("(b) convolution: very poor at 500 iterations", "conditioning.conv_far_from_filter_after_500"),
        ("(b) convolution: one of two curves good at 10,000, both at 50,000", "conditioning.conv_reaches_filter_by_10k"),
        ("(c) whitened convolution: accurate from the first snapshot", "conditioning.whitened_conv_recovers_filter"),
        ("(d) deeper auto-encoder: smooth but rounded at the kinks", "conditioning.autoencoder_misses_kinks"),
    ),
    "fig7_flat": (
        ("(a) the smooth approximation's output stays flat (stuck)",
         "flat.smooth_approximation_worse_than_forward_only"),
        ("(b) the end-to-end MLP is reasonable but blurred at the steps", "flat.mlp_error_concentrates_at_thresholds"),
        ("(c-d) the multi-class model's boundaries are jittery", "flat.multiclass_boundaries_are_jittery"),
        ("(e) forward-only overlaps the target after 5,000 iterations", "flat.forward_only_learns_exact_levels"),
    ),
    # Barak et al., NeurIPS 2022 (shared/research/beyond_literature.md): trends, the paper's numbers were not read.
    "lit_sparse_parity_scaling": (
        ("online SGD needs n^O(k) steps on k-sparse parities (t_c ~ n^(k-1))",
         "sparse_parity.steps_to_learn_scale_with_n_and_k"),
    ),
    "lit_sparse_parity_hidden_progress": (
        ("progress on the relevant coordinates is hidden while the loss and error stay flat",
         "sparse_parity.hidden_progress_precedes_learning"),
    ),
    "lit_sparse_parity_fourier_gap": (
        ("at initialisation the population gradient already favours the relevant coordinates",
         "sparse_parity.fourier_gap_grows_with_n"),
    ),
    # Shamir, COLT 2019; Wies, Levine & Shashua, ICLR 2023; Ben Arous, Gheissari & Jagannath, JMLR 2021.
    "lit_deep_linear": (
        ("from standard random initialisations, GD needs a number of iterations exponential in the depth",
         "deep_linear.failure_share_rises_with_depth"),
        ("(the same, as a trend fitted over depths 2-32)", "deep_linear.failure_share_trend_in_depth"),
    ),
    "lit_intermediate_supervision": (
        ("supervising the sub-tasks (the chain of partial parities) learns; end to end needs exponentially more",
         "intermediate_supervision.chain_learns_parity_end_to_end_does_not"),
    ),
    "lit_single_index": (
        ("online SGD needs d, d log d, d^(k-1) samples for information exponent 1, 2, k >= 3",
         "single_index.samples_scale_with_information_exponent"),
    ),
}
