terraform {
  # No provider: naming is pure expressions, so it evaluates without Azure credentials.
  required_version = ">= 1.9, < 2.0"
}
