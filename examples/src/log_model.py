"""Log a small scikit-learn model and register it to Unity Catalog (run as a spark_python_task)."""

import argparse

import mlflow
from mlflow.models import infer_signature
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--catalog", required=True)
    parser.add_argument("--schema", required=True)
    args = parser.parse_args()

    mlflow.set_registry_uri("databricks-uc")
    features, labels = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=200).fit(features, labels)
    # Unity Catalog needs a signature with inputs and outputs.
    signature = infer_signature(features, model.predict(features))
    with mlflow.start_run():
        mlflow.sklearn.log_model(
            model,
            artifact_path="model",
            signature=signature,
            input_example=features.head(3),
            registered_model_name=f"{args.catalog}.{args.schema}.churn_classifier",
        )


if __name__ == "__main__":
    main()
