"""``python3 -m ais_bench`` stand-in: the CLI of the lineage $FAKE_AIS_LINEAGE selects.

Both real front-ends run ``ais_bench/infer/__main__.py`` from here; so does this one. Each call is
logged to $FAKE_ASCEND_LOG as ``{"tool": "ais_bench", "argv": [...], "pid": ..., "lineage": ...}``.
"""

import os
import sys

from ais_bench import _fakeom

_fakeom.log_call("ais_bench", argv=sys.argv[1:], pid=os.getpid(), lineage=_fakeom.lineage(), cwd=os.getcwd())
if _fakeom.lineage() == "msit2024":
    from ais_bench.infer._cli_msit import cli_main
else:
    from ais_bench.infer._cli_tools import cli_main
sys.exit(cli_main())
