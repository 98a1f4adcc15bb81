"""Kaggle tooling beside the ``daigt`` library: it packages the kit for Kaggle and proves the submission offline.

Not part of the runtime wheel (the library never imports it). ``build_dataset.py`` and ``submit.py`` at the
repository root are its entry points, and must run on a bare Python with pip, so every module here imports
the standard library only (plus stdlib-only ``daigt.io``, ``daigt.stages`` and, for ``--set`` checks,
``daigt.config``); the ``kaggle`` package and ``nbformat`` are imported only by the steps that need them.

- ``metadata``: Kaggle's metadata files and the rules Kaggle enforces on them; image manifests;
- ``kernel_helpers``: what every kernel shares (imported by the kernels' sources, inlined into the code Kaggle gets);
- ``kernels``: kernel folders, and rendering a kernel's source for Kaggle (``build_dataset.py kernel``);
- ``dataset``: the offline kit dataset (``build_dataset.py``);
- ``dryrun``: the local offline dry-run (``submit.py``), with ``sandbox/``, the files it runs in the kernel's
  environment (socket guard, network-namespace boot, submission validator);
- ``publish``: build -> dry-run -> upload -> push -> submit (``build_dataset.py publish``).
"""
