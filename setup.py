"""Only the C extensions live here; everything else is in pyproject.toml.

Both are optional: without a C compiler the install still succeeds, CSV members are read by
Arrow's reader instead (marina_assets/parsing/csv_native.py) and binary COPY rows are encoded
by numpy (marina_assets/warehouse/pg_binary.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "marina_assets.parsing._csvscan",
            ["marina_assets/parsing/_csvscan.c"],
            extra_compile_args=["-O3", "-std=gnu11"],
            optional=True,
        ),
        Extension(
            "marina_assets.warehouse._pgcopy",
            ["marina_assets/warehouse/_pgcopy.c"],
            extra_compile_args=["-O3", "-std=gnu11"],
            optional=True,
        ),
    ]
)
