package ldapserver

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/strictjson"
)

// Seed describes the domain the directory starts with. It is read from JSON
// (see internal/lab/testdata/seed.json). Every identifier that is not given
// (objectGUID, RIDs, the domain SID) is derived from names, so the same seed
// always yields the same directory.
type Seed struct {
	Domain Domain `json:"domain"`
	// BindUser is the sAMAccountName of the account the lab hands out as the
	// provider's credentials. It must be one of Users and have a password.
	BindUser          string             `json:"bind_user"`
	DomainControllers []DomainController `json:"domain_controllers"`
	Computers         []Computer         `json:"computers"`
	Users             []User             `json:"users"`
	Groups            []Group            `json:"groups"`
}

// Domain names the domain.
type Domain struct {
	DNSName     string `json:"dns_name"`     // corp.example
	NetBIOSName string `json:"netbios_name"` // CORP
	// SID is the domain SID (S-1-5-21-a-b-c); derived from DNSName when empty.
	SID string `json:"sid,omitempty"`
	// Created stamps whenCreated/whenChanged of seeded objects; a fixed
	// default keeps the directory reproducible.
	Created time.Time `json:"created,omitzero"`
}

// DomainController is a DC computer account in OU=Domain Controllers.
type DomainController struct {
	Name            string `json:"name"` // DC1
	OperatingSystem string `json:"operating_system,omitempty"`
	ObjectGUID      string `json:"object_guid,omitempty"`
	RID             uint32 `json:"rid,omitempty"`
}

// Computer is a workstation or member-server account (sAMAccountName NAME$).
type Computer struct {
	Name string `json:"name"` // CLIENT1
	// Container is the DN below the domain, e.g. "OU=Workstations";
	// default "CN=Computers". Missing containers are created.
	Container       string `json:"container,omitempty"`
	Disabled        bool   `json:"disabled,omitempty"`
	DNSHostName     string `json:"dns_host_name,omitempty"` // default lower(name).domain
	OperatingSystem string `json:"operating_system,omitempty"`
	Description     string `json:"description,omitempty"`
	ObjectGUID      string `json:"object_guid,omitempty"`
	RID             uint32 `json:"rid,omitempty"`
	// Password allows a simple bind as the machine account (rarely needed).
	Password string `json:"password,omitempty"`
}

// User is a user account.
type User struct {
	SAMAccountName string `json:"sam_account_name"`
	DisplayName    string `json:"display_name,omitempty"`
	GivenName      string `json:"given_name,omitempty"`
	Surname        string `json:"surname,omitempty"`
	Container      string `json:"container,omitempty"` // default "CN=Users"
	Disabled       bool   `json:"disabled,omitempty"`
	// Password is empty for accounts nobody binds as (krbtgt).
	Password string `json:"password,omitempty"`
	// Critical marks built-in accounts (isCriticalSystemObject TRUE).
	Critical   bool   `json:"critical,omitempty"`
	ObjectGUID string `json:"object_guid,omitempty"`
	RID        uint32 `json:"rid,omitempty"`
	// UserAccountControl overrides the derived 512/514 when non-zero.
	UserAccountControl uint32 `json:"user_account_control,omitempty"`
	// NoUserPrincipalName leaves userPrincipalName unset, as accounts created by some tools have it: they log on
	// with the implicit UPN sAMAccountName@dnsdomain.
	NoUserPrincipalName bool `json:"no_user_principal_name,omitempty"`
	// AdminCount is the adminCount that SDProp sets on members of protected groups, nested ones included.
	AdminCount int `json:"admin_count,omitempty"`
}

// Group is a global security group. Members are sAMAccountNames of seeded
// users, computers (NAME$) or groups. Members of the group with RID 512
// (Domain Admins) may write; everybody else may only read.
type Group struct {
	Name        string   `json:"name"`
	Container   string   `json:"container,omitempty"` // default "CN=Users"
	Description string   `json:"description,omitempty"`
	Members     []string `json:"members,omitempty"`
	Critical    bool     `json:"critical,omitempty"`
	ObjectGUID  string   `json:"object_guid,omitempty"`
	RID         uint32   `json:"rid,omitempty"`
}

// defaultCreated is the whenCreated of seeded objects when the seed gives none.
var defaultCreated = time.Date(2024, 1, 15, 9, 0, 0, 0, time.UTC)

// LoadSeed reads and validates a JSON seed file.
func LoadSeed(path string) (Seed, error) {
	data, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return Seed{}, fmt.Errorf("read seed: %w", err)
	}
	return ParseSeed(data)
}

// ParseSeed decodes and validates a JSON seed. Unknown fields are errors so
// that a typo in a seed file does not silently drop an account.
func ParseSeed(data []byte) (Seed, error) {
	var s Seed
	if err := strictjson.Decode(data, &s); err != nil {
		return Seed{}, fmt.Errorf("decode seed: %w", err)
	}
	if err := s.validate(); err != nil {
		return Seed{}, fmt.Errorf("invalid seed: %w", err)
	}
	return s, nil
}

func (s Seed) validate() error {
	if s.Domain.DNSName == "" || !strings.Contains(s.Domain.DNSName, ".") {
		return fmt.Errorf("domain.dns_name %q must be a dotted DNS name", s.Domain.DNSName)
	}
	if s.Domain.NetBIOSName == "" || len(s.Domain.NetBIOSName) > 15 {
		return fmt.Errorf("domain.netbios_name %q must be 1 to 15 characters", s.Domain.NetBIOSName)
	}
	if len(s.DomainControllers) == 0 {
		return errors.New("at least one domain controller is required")
	}
	var bindUser *User
	for i := range s.Users {
		if strings.EqualFold(s.Users[i].SAMAccountName, s.BindUser) {
			bindUser = &s.Users[i]
		}
	}
	if bindUser == nil || bindUser.Password == "" {
		return fmt.Errorf("bind_user %q must name a user with a password", s.BindUser)
	}
	return nil
}
