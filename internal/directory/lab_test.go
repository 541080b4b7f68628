package directory_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/ldapserver"
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

// Lookups by objectGUID that overlap, as a plan's parallel refresh makes them, share searches, and each gets its own
// account, or ErrNotFound for a GUID of another kind or of no account.
func TestOverlappingLookupsByGUIDShareSearches(t *testing.T) {
	l, err := lab.Start(lab.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	c := labclient.Directory(t, l.Info())
	want := map[string]directory.Account{}
	for _, name := range []string{"CLIENT1", "CLIENT10", "CLIENT2", "RETIRED1", "RAS1", "RAS2"} {
		acct, err := c.FindComputer(ctx(t), name)
		if err != nil {
			t.Fatal(err)
		}
		want[acct.ObjectGUID] = acct
	}
	user, err := c.FindUser(ctx(t), "alice")
	if err != nil {
		t.Fatal(err)
	}
	const rounds = 20
	before := l.Directory().Searches()
	var wg sync.WaitGroup
	for range rounds {
		for guid, acct := range want {
			wg.Go(func() {
				got, err := c.FindByGUID(ctx(t), directory.KindComputer, strings.ToUpper(guid))
				if err != nil || got.DN != acct.DN || got.SAMAccountName != acct.SAMAccountName {
					t.Errorf("FindByGUID(%s) = %s, %v; want %s", guid, got.DN, err, acct.DN)
				}
			})
		}
		for _, guid := range []string{user.ObjectGUID, "00000000-0000-0000-0000-000000000001"} {
			wg.Go(func() {
				if got, err := c.FindByGUID(ctx(t), directory.KindComputer, guid); !errors.Is(err, directory.ErrNotFound) {
					t.Errorf("FindByGUID(%s) as a computer = %s, %v; want ErrNotFound", guid, got.DN, err)
				}
			})
		}
	}
	wg.Wait()
	lookups := rounds * (len(want) + 2)
	if searches := l.Directory().Searches() - before; searches > int64(lookups/4) {
		t.Errorf("%d searches for %d overlapping lookups; want them shared", searches, lookups)
	}
}

// A paged listing whose connection breaks between two pages is run again on a fresh connection from its first page:
// the cookie names a cursor of the broken connection (Active Directory keeps paged-search state per connection), and
// sending it again is refused.
func TestAPagedListingBrokenBetweenPagesStartsAgain(t *testing.T) {
	l, c := startDirectoryLab(t)
	bulk := make([]ldapserver.Computer, 1200) // three pages
	for i := range bulk {
		bulk[i] = ldapserver.Computer{Name: fmt.Sprintf("LOST%05d", i), Container: "OU=Lost,OU=Workstations", Disabled: true}
	}
	if err := l.Directory().AddComputers(bulk...); err != nil {
		t.Fatal(err)
	}
	if _, err := c.FindComputer(ctx(t), "client1"); err != nil { // a connection in the pool, which a retry needs
		t.Fatal(err)
	}
	l.Directory().DropConnectionsOnPage(1)
	got, err := c.ListDisabled(ctx(t), directory.KindComputer, "OU=Lost,OU=Workstations,"+l.Info().BaseDN)
	if err != nil || len(got) != len(bulk) {
		t.Fatalf("ListDisabled broken between two pages = %d accounts, %v; want all %d", len(got), err, len(bulk))
	}
}
