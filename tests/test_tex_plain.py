"""TeX in titles and labels, written for the terminal."""

import pytest

from theorycheck.registry import list_claims
from theorycheck.tex_plain import tex_to_plain


@pytest.mark.parametrize("tex, plain", [
    (r"risk bound $\mathcal R_n \le p(\pi/2 - \bar\alpha_n)$", "risk bound R_n ≤ p(π/2 - ᾱ_n)"),
    (r"error to $p^*$ ~ $N^{-1/2}$", "error to p* ~ N^-1/2"),
    (r"$N_s \sim g^2 \log d_x$ samples", "N_s ~ g² log d_x samples"),
    (r"$\|W_2^{b}\|_2$ and $C\delta$ ($N_s \geq d_x$)", "‖W_2^b‖_2 and Cδ (N_s ≥ d_x)"),
    (r"$E_{ES} / E_{zero\ loss}$", "E_ES / E_zero loss"),
    ("no math: 5 $ and text", "no math: 5 $ and text"),
    (r"$\widetilde\Omega(g^2 \log d_x)$, $\mathrm{span}\{x_i\}$", "Ω̃(g² log d_x), span{x_i}"),
    (r"$\delta^{0.5}$, $W^\star$, $(\cdots)^{-1}$, $10^{-3}$", "δ^0.5, W*, (⋯)⁻¹, 10⁻³"),
    (r"$\hat\Theta \approx \Theta$, $\bar\alpha_n$, $\hat{\pi}_z$", "Θ̂ ≈ Θ, ᾱ_n, π̂_z"),
    (r"$\sqrt{1-r^2}\,\eta$, $\tfrac12\|W\|^2/N$, $\frac{a+b}{c}$", "√(1-r²) η, 1/2‖W‖²/N, (a+b)/c"),
    (r"$\partial\cos\alpha_g$, $\Delta w^\top\phi$, $\prod_l\|W_l\|_2$", "∂cos α_g, Δ wᵀφ, ∏_l‖W_l‖_2"),
])
def test_formulas_become_plain_unicode_and_text_is_left_alone(tex, plain):
    assert tex_to_plain(tex) == plain


@pytest.mark.parametrize("claim", list_claims(), ids=lambda c: c.id)
def test_every_title_statement_and_metric_text_reads_without_tex_commands(claim):
    texts = [claim.title, claim.statement, *claim.assumptions, claim.method]
    texts += [t for m in claim.metrics.values() for t in (m.meaning, m.label, m.unit)]
    for text in texts:
        plain = tex_to_plain(text)
        assert "\\" not in plain and "$" not in plain, (text, plain)
