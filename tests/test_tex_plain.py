"""TeX in titles and labels, written for the terminal."""

import pytest

from theorycheck.registry import list_claims
from theorycheck.tex_plain import tex_to_plain


@pytest.mark.parametrize("tex, plain", [
    (r"risk bound $\mathcal R_n \le p(\pi/2 - \bar\alpha_n)$", "risk bound R_n ≤ p(π/2 - α_n)"),
    (r"error to $p^*$ ~ $N^{-1/2}$", "error to p* ~ N^-1/2"),
    (r"$N_s \sim g^2 \log d_x$ samples", "N_s ~ g² log d_x samples"),
    (r"$\|W_2^{b}\|_2$ and $C\delta$ ($N_s \geq d_x$)", "‖W_2^b‖_2 and Cδ (N_s ≥ d_x)"),
    (r"$E_{ES} / E_{zero\ loss}$", "E_ES / E_zero loss"),
    ("no math: 5 $ and text", "no math: 5 $ and text"),
    (r"$\widetilde\Omega(g^2 \log d_x)$, $\mathrm{span}\{x_i\}$", "Ω(g² log d_x), span{x_i}"),
    (r"$\delta^{0.5}$, $W^\star$, $(\cdots)^{-1}$, $10^{-3}$", "δ^0.5, W*, (⋯)⁻¹, 10⁻³"),
])
def test_formulas_become_plain_unicode_and_text_is_left_alone(tex, plain):
    assert tex_to_plain(tex) == plain


@pytest.mark.parametrize("claim", list_claims(), ids=lambda c: c.id)
def test_every_title_and_key_label_reads_without_tex_commands(claim):
    texts = [claim.title] + [claim.metrics[k].label for k in claim.key_metrics if k in claim.metrics]
    for text in texts:
        plain = tex_to_plain(text)
        assert "\\" not in plain and "$" not in plain and "{" not in plain, (text, plain)
