; cseek chunk query for C#.
;
; Captures follow the convention in the module docs of src/chunk/mod.rs.

(class_declaration name: (identifier) @name) @definition.class
(record_declaration name: (identifier) @name) @definition.class
(struct_declaration name: (identifier) @name) @definition.struct
(interface_declaration name: (identifier) @name) @definition.interface
(enum_declaration name: (identifier) @name) @definition.enum
(delegate_declaration name: (identifier) @name) @definition.type
(namespace_declaration name: (_) @name) @definition.module
(method_declaration name: (identifier) @name) @definition.method
(constructor_declaration name: (identifier) @name) @definition.method
(destructor_declaration name: (identifier) @name) @definition.method
(operator_declaration operator: _ @name) @definition.method
; Conversions are named by the type they convert to (`explicit operator double(…)`),
; indexers by `this`, as they are written.
(conversion_operator_declaration type: (_) @name) @definition.method
(indexer_declaration "this" @name) @definition.method

; A property with code in its accessors (`get { return … }`, `get => …`) or an expression
; body (`=> …`) is a member like a method; auto-properties (`{ get; set; }`) stay with
; the code around them.
(property_declaration
  name: (identifier) @name
  accessors: (accessor_list (accessor_declaration body: (_)))) @definition.method
(property_declaration
  name: (identifier) @name
  value: (arrow_expression_clause)) @definition.method
