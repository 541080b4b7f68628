// Package s3 replaces Terraform's "s3" remote-state backend, which the acceptance tests never use (they keep local
// state). The binary built here is for those tests only: configuring this backend with it crashes Terraform.
package s3

import "github.com/hashicorp/terraform/internal/backend"

// New stands in for the real backend's constructor.
func New() backend.Backend { return nil }
