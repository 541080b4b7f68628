// Stands in for Terraform's nested remote-state backend module of the same path, which the module proxy does not
// serve in a form that matches Terraform 1.15 (see ../../go.mod).
module github.com/hashicorp/terraform/internal/backend/remote-state/gcs

go 1.25.10

require github.com/hashicorp/terraform v1.15.9
