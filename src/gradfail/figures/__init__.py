"""Paper figures redrawn from the same experiment functions the claims use (matplotlib, Agg backend).

FIGURES maps a figure name to draw(out_dir, *, profile, device, progress) -> path of the PNG.
"""

from __future__ import annotations

from gradfail.figures.fig1_parity import draw_fig1
from gradfail.figures.fig3_tuples import draw_fig3
from gradfail.figures.fig4_stocks import draw_fig4
from gradfail.figures.fig5_snr import draw_fig5
from gradfail.figures.fig6_conditioning import draw_fig6_conditioning
from gradfail.figures.fig6_curves import draw_fig6_curves
from gradfail.figures.fig7_flat import draw_fig7
from gradfail.figures.lit_deep_linear import draw_lit_deep_linear
from gradfail.figures.lit_intermediate_supervision import draw_lit_intermediate_supervision
from gradfail.figures.lit_single_index import draw_lit_single_index
from gradfail.figures.lit_sparse_parity import draw_fourier_gap, draw_hidden_progress, draw_scaling

FIGURES = {"fig1_parity": draw_fig1, "fig3_tuples": draw_fig3, "fig4_stocks": draw_fig4, "fig5_snr": draw_fig5,
           "fig6_conditioning": draw_fig6_conditioning,
           "fig6_curves": draw_fig6_curves,
           "fig7_flat": draw_fig7,
           "lit_sparse_parity_scaling": draw_scaling,
           "lit_sparse_parity_hidden_progress": draw_hidden_progress,
           "lit_sparse_parity_fourier_gap": draw_fourier_gap,
           "lit_deep_linear": draw_lit_deep_linear,
           "lit_intermediate_supervision": draw_lit_intermediate_supervision,
           "lit_single_index": draw_lit_single_index}

