"""Performance predictors behind one fit/predict interface; built-ins register on import."""
