"""TeX math written for a terminal: the claims' titles and metric labels carry LaTeX between ``$...$``
(typeset in the report, the docs and the figures); the command line prints them as plain Unicode."""

from __future__ import annotations

import re

__all__ = ["tex_to_plain"]

_SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε", "eta": "η",
    "theta": "θ", "Theta": "Θ", "kappa": "κ", "lambda": "λ", "mu": "μ", "pi": "π", "rho": "ρ", "sigma": "σ",
    "tau": "τ", "phi": "φ", "Phi": "Φ", "omega": "ω", "Delta": "Δ", "Pi": "Π", "Sigma": "Σ", "Omega": "Ω",
    "Gamma": "Γ", "Lambda": "Λ", "nu": "ν", "xi": "ξ", "psi": "ψ", "chi": "χ", "zeta": "ζ", "star": "*", "ast": "*",
    "cdots": "⋯", "ldots": "…", "dots": "…", "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉",
    "partial": "∂", "nabla": "∇", "sqrt": "√", "mid": "|", "quad": "  ", "qquad": "  ", "langle": "⟨", "rangle": "⟩",
    "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "approx": "≈", "sim": "~",
    "to": "→", "infty": "∞", "cdot": "·", "times": "×", "pm": "±", "in": "∈", "|": "‖", "ell": "ℓ",
    "log": "log", "ln": "ln", "exp": "exp", "min": "min", "max": "max", ",": " ", ";": " ", "!": "", " ": " ",
}
_SUPERSCRIPTS = str.maketrans("0123456789+-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻")
_FONTS = re.compile(r"\\(?:mathcal|mathrm|mathbf|mathbb|mathit|operatorname|text|rm|hat|widehat|tilde|widetilde|"
                    r"bar|overline|boldsymbol|left|right|big|Big)\b\s*")


def _math(tex: str) -> str:
    tex = _FONTS.sub("", tex)
    tex = re.sub(r"\\tfrac|\\frac|\\dfrac", "", tex)
    tex = tex.replace("\\{", "\x00").replace("\\}", "\x01")  # literal braces survive the brace removal
    tex = re.sub(r"\\([A-Za-z]+|[|,;! ])", lambda m: _SYMBOLS.get(m.group(1), m.group(1)), tex)
    # x^2 -> x², x^{-1/2} -> x^-1/2, x^{0.5} -> x^0.5 (a superscript only where Unicode has one)
    tex = re.sub(r"\^\{?([0-9+-]+)\}?(?![0-9/.])", lambda m: m.group(1).translate(_SUPERSCRIPTS), tex)
    tex = tex.replace("^*", "*").replace("^{*}", "*")
    tex = re.sub(r"([_^])\{([^{}]*)\}", r"\1\2", tex)
    return tex.replace("{", "").replace("}", "").replace("\x00", "{").replace("\x01", "}")


def tex_to_plain(text: str) -> str:
    """``text`` with every ``$...$`` formula written in plain Unicode (``$\\rho \\le 1$`` -> ``ρ ≤ 1``).

    Meant for reading, not for round trips: fonts and accents are dropped, fractions lose their
    bar; text outside the dollars is left as it is.
    """
    return re.sub(r"\$([^$]*)\$", lambda m: _math(m.group(1)), text)
