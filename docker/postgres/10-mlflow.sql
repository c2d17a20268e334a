-- Runs once, when the postgres service initialises an empty volume: MLflow's tracking and
-- registry tables live in their own database (both MLflow and stocky keep an alembic_version).
CREATE DATABASE mlflow;
