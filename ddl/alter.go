package ddl

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/replicator/replicator/schema"
)

func (b *builder) alterTable(s *ast.AlterTableStmt) ([]Change, error) {
	name, err := b.table(s.Table)
	if err != nil {
		return nil, err
	}
	at := &AlterTable{Name: name, IfExists: b.prep.ifExists}
	for _, spec := range s.Specs {
		specs, err := b.alterSpec(spec)
		if err != nil {
			return nil, err
		}
		at.Specs = append(at.Specs, specs...)
	}
	if len(at.Specs) == 0 {
		return nil, nil // ENGINE=InnoDB rebuilds, ALGORITHM/LOCK only, partition maintenance...
	}
	return []Change{at}, nil
}

func (b *builder) alterSpec(spec *ast.AlterTableSpec) ([]AlterChange, error) {
	switch spec.Tp {
	case ast.AlterTableAddColumns:
		var out []AlterChange
		pos := position(spec.Position)
		for _, cd := range spec.NewColumns {
			c, err := b.column(cd, "", "")
			if err != nil {
				return nil, err
			}
			b.finishColumn(&c)
			out = append(out, &AddColumn{Column: c.col, Default: c.def, Position: pos, IfNotExists: spec.IfNotExists})
			out = append(out, inlineKeys(c)...)
			// ADD COLUMN (a INT, b INT) appends in order; AFTER x applies to the first only,
			// each later column following the one before it.
			if pos.Kind != PositionDefault {
				pos = Position{Kind: PositionAfter, After: c.col.Name}
			}
		}
		for _, k := range spec.NewConstraints {
			cs, err := b.constraint(k)
			if err != nil {
				return nil, err
			}
			out = append(out, cs...)
		}
		return out, nil
	case ast.AlterTableAddConstraint:
		return b.constraint(spec.Constraint)
	case ast.AlterTableDropColumn:
		return []AlterChange{&DropColumn{Name: spec.OldColumnName.Name.O, IfExists: spec.IfExists}}, nil
	case ast.AlterTableDropPrimaryKey:
		return []AlterChange{&DropPrimaryKey{}}, nil
	case ast.AlterTableDropIndex:
		return []AlterChange{dropIndex(spec.Name, spec.IfExists)}, nil
	case ast.AlterTableDropForeignKey:
		return []AlterChange{&DropForeignKey{Name: spec.Name}}, nil
	case ast.AlterTableDropCheck:
		if b.prep.dropCheck {
			return nil, nil // a CHECK constraint: neither tracked nor replicated
		}
		return []AlterChange{&DropConstraint{Name: spec.Constraint.Name, IfExists: spec.IfExists}}, nil
	case ast.AlterTableModifyColumn, ast.AlterTableChangeColumn:
		if len(spec.NewColumns) != 1 {
			return nil, b.unsupported("MODIFY/CHANGE without exactly one column")
		}
		c, err := b.column(spec.NewColumns[0], "", "")
		if err != nil {
			return nil, err
		}
		b.finishColumn(&c)
		var ch AlterChange = &ModifyColumn{Column: c.col, Default: c.def, Position: position(spec.Position), IfExists: spec.IfExists}
		if spec.Tp == ast.AlterTableChangeColumn {
			ch = &ChangeColumn{OldName: spec.OldColumnName.Name.O, Column: c.col, Default: c.def, Position: position(spec.Position), IfExists: spec.IfExists}
		}
		return append([]AlterChange{ch}, inlineKeys(c)...), nil
	case ast.AlterTableRenameColumn:
		return []AlterChange{&RenameColumn{OldName: spec.OldColumnName.Name.O, NewName: spec.NewColumnName.Name.O}}, nil
	case ast.AlterTableAlterColumn:
		if len(spec.NewColumns) != 1 {
			return nil, b.unsupported("ALTER COLUMN without a column")
		}
		cd := spec.NewColumns[0]
		col := cd.Name.Name.O
		if len(cd.Options) == 0 {
			return []AlterChange{&DropDefault{Column: col, Flavor: b.flavor}}, nil
		}
		// The type is not in the statement: Apply converts the constant to the tracked
		// column's type (see SetDefault), here it is taken as written.
		expr := cd.Options[0].Expr
		sd := &SetDefault{Column: col, Default: defaultOf(expr, &schema.Column{}), Flavor: b.flavor}
		if lit, ok := literalOf(expr); ok && lit.kind != 0 {
			sd.lit = &lit
		}
		return []AlterChange{sd}, nil
	case ast.AlterTableRenameTable:
		to, err := b.table(spec.NewTable)
		if err != nil {
			return nil, err
		}
		return []AlterChange{&RenameTable{To: to}}, nil
	case ast.AlterTableRenameIndex:
		return []AlterChange{&RenameIndex{OldName: spec.FromKey.O, NewName: spec.ToKey.O}}, nil
	case ast.AlterTableOption:
		return b.tableOptions(spec.Options), nil
	case ast.AlterTableDropPartition, ast.AlterTableDropFirstPartition:
		return nil, b.unsupported("DROP PARTITION deletes rows without row events in the binary log")
	case ast.AlterTableTruncatePartition:
		return nil, b.unsupported("TRUNCATE PARTITION deletes rows without row events in the binary log")
	case ast.AlterTableExchangePartition:
		return nil, b.unsupported("EXCHANGE PARTITION moves rows without row events in the binary log")
	case ast.AlterTableDiscardTablespace, ast.AlterTableImportTablespace,
		ast.AlterTableDiscardPartitionTablespace, ast.AlterTableImportPartitionTablespace:
		return nil, b.unsupported("DISCARD/IMPORT TABLESPACE changes rows without row events in the binary log")
	case ast.AlterTableLock, ast.AlterTableAlgorithm, ast.AlterTableForce, ast.AlterTableOrderByColumns,
		ast.AlterTableEnableKeys, ast.AlterTableDisableKeys, ast.AlterTableIndexInvisible,
		ast.AlterTableWithValidation, ast.AlterTableWithoutValidation, ast.AlterTableAlterCheck,
		ast.AlterTableAddPartitions, ast.AlterTableCoalescePartitions, ast.AlterTablePartition,
		ast.AlterTableRemovePartitioning, ast.AlterTableRebuildPartition, ast.AlterTableReorganizePartition,
		ast.AlterTableCheckPartitions, ast.AlterTableOptimizePartition, ast.AlterTableRepairPartition,
		ast.AlterTablePartitionOptions, ast.AlterTablePartitionAttributes, ast.AlterTableAddLastPartition,
		ast.AlterTableReorganizeLastPartition, ast.AlterTableReorganizeFirstPartition,
		ast.AlterTableSecondaryLoad, ast.AlterTableSecondaryUnload:
		return nil, nil // no effect on the columns, keys or rows
	}
	return nil, b.unsupported("ALTER TABLE clause %d is not a MySQL clause this package knows", spec.Tp)
}

// inlineKeys are the indexes an inline PRIMARY KEY or UNIQUE of a column definition creates.
func inlineKeys(c columnDef) []AlterChange {
	var out []AlterChange
	if c.primary {
		out = append(out, &AddPrimaryKey{Columns: []string{c.col.Name}})
	}
	if c.unique {
		out = append(out, &AddIndex{Index: schema.Index{Unique: true, Columns: []string{c.col.Name}}})
	}
	return out
}

func (b *builder) constraint(k *ast.Constraint) ([]AlterChange, error) {
	switch k.Tp {
	case ast.ConstraintPrimaryKey:
		cols, _ := indexParts(k.Keys)
		if len(cols) == 0 {
			return nil, b.unsupported("a primary key on expressions")
		}
		return []AlterChange{&AddPrimaryKey{Columns: cols}}, nil
	case ast.ConstraintForeignKey:
		fk, _ := b.foreignKey(k, "", 0)
		if k.Name == "" {
			fk.Name = "" // Apply names it after the table
		}
		cols, _ := indexParts(k.Keys)
		return []AlterChange{&AddForeignKey{ForeignKey: fk, Columns: cols}}, nil
	case ast.ConstraintCheck:
		return nil, nil
	}
	if ix, ok := b.constraintIndex(k); ok {
		return []AlterChange{ix}, nil
	}
	return nil, nil
}

func (b *builder) tableOptions(opts []*ast.TableOption) []AlterChange {
	var out []AlterChange
	set := &SetTableOptions{}
	var charset, collation string
	convert := false
	for _, o := range opts {
		switch o.Tp {
		case ast.TableOptionEngine:
			e := engineName(o.StrValue)
			set.Engine = &e
		case ast.TableOptionComment:
			c := o.StrValue
			set.Comment = &c
		case ast.TableOptionCharset:
			charset = o.StrValue
			convert = convert || o.UintValue == ast.TableOptionCharsetWithConvertTo
		case ast.TableOptionCollate:
			collation = o.StrValue
		}
	}
	if set.Engine != nil || set.Comment != nil {
		out = append(out, set)
	}
	if convert {
		if charset == "" || strings.EqualFold(charset, "default") {
			charset, _, _ = strings.Cut(collation, "_")
		}
		out = append(out, &ConvertCharset{Charset: charset, Collation: collation})
	}
	return out
}

func position(p *ast.ColumnPosition) Position {
	if p == nil {
		return Position{}
	}
	switch p.Tp {
	case ast.ColumnPositionFirst:
		return Position{Kind: PositionFirst}
	case ast.ColumnPositionAfter:
		return Position{Kind: PositionAfter, After: p.RelativeColumn.Name.O}
	}
	return Position{}
}
