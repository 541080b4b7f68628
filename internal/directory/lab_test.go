package directory_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/labclient"
)

// A base in another domain is referred elsewhere by the directory, as AD does (Samba answers "no such object"
// instead, so the lab's directory stands in): the client says so instead of listing nothing.
func TestListDisabledInAnotherDomainIsAClearError(t *testing.T) {
	l, err := lab.Start(lab.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	info := l.Info()
	c := labclient.Directory(t, info)

	if got, err := c.ListDisabled(ctx(t), directory.KindComputer, "OU=Workstations,"+info.BaseDN); err != nil || len(got) == 0 {
		t.Fatalf("ListDisabled in the lab's domain = %v, %v; want its disabled computers", names(got), err)
	}
	_, err = c.ListDisabled(ctx(t), directory.KindComputer, "OU=Laptops,DC=other,DC=example")
	var verr *directory.ValidationError
	if !errors.As(err, &verr) || verr.Field != "search base" || !strings.Contains(err.Error(), "referred") ||
		!strings.Contains(err.Error(), "other.example") {
		t.Errorf("ListDisabled in another domain = %v; want a search base error naming the referral", err)
	}
}
