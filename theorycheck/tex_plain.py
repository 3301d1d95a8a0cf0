"""TeX math written for a terminal: the claims' titles, criteria texts and metric labels carry LaTeX
between ``$...$`` (typeset in the report, the docs and the figures); the command line and the pytest
plug-in print them as plain Unicode."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["tex_to_plain"]

_SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε", "eta": "η",
    "theta": "θ", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ",
    "sigma": "σ", "tau": "τ", "phi": "φ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "zeta": "ζ",
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ", "Phi": "Φ",
    "Psi": "Ψ", "Omega": "Ω",
    "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "approx": "≈", "sim": "~",
    "propto": "∝", "equiv": "≡", "in": "∈", "notin": "∉", "subset": "⊂", "subseteq": "⊆", "cup": "∪",
    "cap": "∩", "forall": "∀", "exists": "∃", "emptyset": "∅", "wedge": "∧", "vee": "∨", "neg": "¬",
    "to": "→", "rightarrow": "→", "leftarrow": "←", "Rightarrow": "⇒", "mapsto": "↦", "infty": "∞",
    "cdot": "·", "times": "×", "pm": "±", "mp": "∓", "circ": "∘", "odot": "⊙", "otimes": "⊗",
    "oplus": "⊕", "ell": "ℓ", "partial": "∂", "nabla": "∇", "prod": "∏", "sum": "Σ", "int": "∫",
    "top": "ᵀ", "star": "*", "ast": "*", "cdots": "⋯", "ldots": "…", "dots": "…", "lfloor": "⌊",
    "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉", "langle": "⟨", "rangle": "⟩", "mid": "|", "vert": "|",
    "lvert": "|", "rvert": "|", "Vert": "‖", "lVert": "‖", "rVert": "‖", "|": "‖",
    # named functions take a space, as TeX's thin space after them: \cos\alpha -> cos α
    **{name: name + " " for name in ("log", "ln", "exp", "min", "max", "sup", "inf", "arg", "cos", "sin", "tanh",
                                     "det", "rank", "cond")},
    "quad": "  ", "qquad": "  ", ",": " ", ";": " ", ":": " ", "!": "", " ": " ",
}
_ACCENTS = {"hat": "\u0302", "widehat": "\u0302", "bar": "\u0304", "overline": "\u0304", "tilde": "\u0303",
            "widetilde": "\u0303", "dot": "\u0307", "vec": "\u20d7"}
_SUPERSCRIPTS = str.maketrans("0123456789+-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻")
_DROPPED = re.compile(r"\\(?:mathcal|mathrm|mathbf|mathbb|mathit|mathsf|boldsymbol|operatorname|text|textrm|rm|"
                      r"left|right|bigl|bigr|Bigl|Bigr|big|Big|displaystyle)(?![A-Za-z])\s*")
_ARG = r"(\{[^{}]*\}|\\[A-Za-z]+|[^\s{}\\])"  # one TeX argument: a group, a command or one character


def _group(arg: str) -> str:
    return arg[1:-1] if arg.startswith("{") else arg


def _frac(m) -> str:
    num, den = (_group(a) for a in m.groups())
    wrap = (lambda s: f"({s})" if re.search(r"[\s+\-]", s.strip()) else s)
    return f"{wrap(num)}/{wrap(den)}"


def _math(tex: str) -> str:
    tex = tex.replace("\\{", "\x00").replace("\\}", "\x01")  # literal braces survive the brace removal
    tex = _DROPPED.sub("", tex)
    tex = re.sub(r"\\[dt]?frac\s*" + _ARG + r"\s*" + _ARG, _frac, tex)
    tex = re.sub(r"\\sqrt\s*" + _ARG, lambda m: "√" + (f"({_group(m.group(1))})" if m.group(1).startswith("{")
                                                      and len(m.group(1)) > 3 else _group(m.group(1))), tex)
    # accents go on the next symbol or group: \hat\Theta -> Θ̂, \bar{\alpha}_n -> ᾱ_n
    accent = "|".join(sorted(_ACCENTS, key=len, reverse=True))
    tex = re.sub(r"\\(" + accent + r")(?![A-Za-z])\s*" + _ARG,
                 lambda m: _symbols(_group(m.group(2))) + _ACCENTS[m.group(1)], tex)
    tex = _symbols(tex)
    tex = tex.replace("^*", "*").replace("^{*}", "*").replace("^ᵀ", "ᵀ").replace("^{ᵀ}", "ᵀ")
    tex = re.sub(r"\^\{([0-9+-]+)\}", lambda m: m.group(1).translate(_SUPERSCRIPTS), tex)  # x^{10} -> x¹⁰
    tex = re.sub(r"\^([0-9])", lambda m: m.group(1).translate(_SUPERSCRIPTS), tex)  # x^2/y -> x²/y
    tex = re.sub(r"([_^])\{([^{}]*)\}", r"\1\2", tex)  # x^{-1/2} -> x^-1/2, W_{ij} -> W_ij
    tex = re.sub(r" {2,}(?=\S)", " ", tex.replace("{", "").replace("}", ""))
    return tex.replace("\x00", "{").replace("\x01", "}")


def _symbols(tex: str) -> str:
    return re.sub(r"\\([A-Za-z]+|[|,;:! ])", lambda m: _SYMBOLS.get(m.group(1), m.group(1)), tex)


def tex_to_plain(text: str) -> str:
    """``text`` with every ``$...$`` formula written in plain Unicode (``$\\rho \\le 1$`` -> ``ρ ≤ 1``).

    Meant for reading, not for round trips: fonts are dropped, accents become combining marks
    (``$\\hat\\Theta$`` -> Θ̂), fractions are written with a slash; text outside the dollars is left
    as it is.
    """
    # NFC: a letter and its combining accent become one character where Unicode has one (ᾱ)
    return unicodedata.normalize("NFC", re.sub(r"\$([^$]*)\$", lambda m: _math(m.group(1)).strip(), text))
