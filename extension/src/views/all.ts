// Importing this registers every view (each module calls registerView).
