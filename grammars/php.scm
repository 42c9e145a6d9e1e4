; cseek chunk query for PHP.
;
; Convention (shared by every grammars/*.scm): capture a definition's whole node as
; @definition.<kind> (function, method, class, struct, enum, trait, interface, impl,
; module, type, macro) and its name as @name; an optional @container names the container
; when it is not the enclosing definition. When several patterns capture the same @name
; node, the largest definition node wins (wrappers such as `export` come along); when two
; patterns capture the same node, the earlier pattern wins. Functions inside a class-like
; definition become methods; definitions inside functions stay part of them. Comments
; directly above a definition are added by the chunker.

(function_definition name: (name) @name) @definition.function
(method_declaration name: (name) @name) @definition.method
(class_declaration name: (name) @name) @definition.class
(interface_declaration name: (name) @name) @definition.interface
(trait_declaration name: (name) @name) @definition.trait
(enum_declaration name: (name) @name) @definition.enum
; Only block namespaces `namespace A { ... }` contain code; `namespace A;` stays top-level.
(namespace_definition name: (namespace_name) @name body: (compound_statement)) @definition.module

; A constant whose value spans lines (`const DEFAULTS = [ … ];`, in a file or a class) is
; a variable; the chunker keeps one-line constants with the code around them.
(const_declaration (const_element (name) @name)) @definition.variable
