package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryAdminCall checks that the command calls every exported method
// of admin.Client, so that a call added to the package without a command
// fails here.
func TestEveryAdminCall(t *testing.T) {
	fset := token.NewFileSet()
	methods := map[string]bool{}
	files, _ := filepath.Glob("../../admin/*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || !fd.Name.IsExported() {
				continue
			}
			if star, ok := fd.Recv.List[0].Type.(*ast.StarExpr); ok {
				if id, ok := star.X.(*ast.Ident); ok && id.Name == "Client" {
					methods[fd.Name.Name] = true
				}
			}
		}
	}
	if len(methods) < 50 {
		t.Fatalf("found only %d methods of admin.Client", len(methods))
	}
	var src strings.Builder
	own, _ := filepath.Glob("*.go")
	for _, f := range own {
		if !strings.HasSuffix(f, "_test.go") {
			b, _ := os.ReadFile(f)
			src.Write(b)
		}
	}
	for m := range methods {
		if !strings.Contains(src.String(), "."+m+"(") {
			t.Errorf("admin.Client.%s has no command", m)
		}
	}
	t.Logf("%d admin calls, all used", len(methods))
}
