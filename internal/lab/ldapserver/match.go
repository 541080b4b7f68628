package ldapserver

// Match reports whether an object with the given attributes (name -> raw values) is one that a search with the
// filter text returns, under the same rules the lab's searches apply (see filter.go): tests use it to check
// filters a client builds without a round trip to a server.
func Match(filterText string, attrs map[string][]string) (bool, error) {
	f, err := compileFilter(filterText, compileEnv{})
	if err != nil {
		return false, err
	}
	e := &entry{}
	for name, values := range attrs {
		e.attrs = append(e.attrs, attribute{name: name, values: values})
	}
	return f.match(e), nil
}
