"""MLflow's peer of ``benchmarks/serving.py``: save a pyfunc model whose ``predict``
returns its input, then become ``mlflow models serve`` of it (same process id).

    .bench/mlflow/bin/python benchmarks/peers/mlflow_serve.py DIR PORT WORKERS
"""

from __future__ import annotations

import os
import shutil
import sys

import mlflow.pyfunc


class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        return model_input


def main() -> None:
    folder, port, workers = sys.argv[1], sys.argv[2], sys.argv[3]
    shutil.rmtree(folder, ignore_errors=True)
    mlflow.pyfunc.save_model(folder, python_model=Echo())
    mlflow_cli = os.path.join(os.path.dirname(sys.executable), "mlflow")
    os.execv(mlflow_cli, [mlflow_cli, "models", "serve", "-m", folder, "--env-manager", "local",
                          "--host", "127.0.0.1", "-p", port, "-w", workers])


if __name__ == "__main__":
    main()
