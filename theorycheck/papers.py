"""The papers the toolkit checks: titles for the docs and BibTeX for ``theorycheck cite``."""

__all__ = ["PAPERS", "bibtex"]

PAPERS = {
    "hong2021": {
        "title": "Hong, Mao, Lin, Chan 2021 — Student-Teacher Learning from Clean Inputs to Noisy Inputs",
        "bibtex": """@inproceedings{hong2021student,
  title     = {Student-Teacher Learning from Clean Inputs to Noisy Inputs},
  author    = {Hong, Guanzhe and Mao, Zhiyuan and Lin, Xiaojun and Chan, Stanley H.},
  booktitle = {Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  pages     = {12075--12084},
  year      = {2021},
  note      = {arXiv:2103.07600}
}""",
    },
    "ji2020": {
        "title": "Ji & Zhu 2020 — Knowledge Distillation in Wide Neural Networks",
        "bibtex": """@inproceedings{ji2020knowledge,
  title     = {Knowledge Distillation in Wide Neural Networks: Risk Bound, Data Efficiency and Imperfect Teacher},
  author    = {Ji, Guangda and Zhu, Zhanxing},
  booktitle = {Advances in Neural Information Processing Systems (NeurIPS)},
  volume    = {33},
  year      = {2020},
  note      = {arXiv:2010.10090}
}""",
    },
    "soteacher": {
        "title": "Dong, Liu, Shang — Toward Student-Oriented Teacher Network Training (SoTeacher)",
        "bibtex": """@inproceedings{dong2024soteacher,
  title     = {Toward Student-Oriented Teacher Network Training for Knowledge Distillation},
  author    = {Dong, Chengyu and Liu, Liyuan and Shang, Jingbo},
  booktitle = {International Conference on Learning Representations (ICLR)},
  year      = {2024},
  note      = {arXiv:2206.06661}
}""",
    },
}


def bibtex(paper: str) -> str:
    """BibTeX entry of ``paper`` (a key of :data:`PAPERS`)."""
    from .errors import check_choice
    return PAPERS[check_choice("paper", paper, PAPERS)]["bibtex"]
