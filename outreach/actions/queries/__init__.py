"""What the faces read, typed and ready for a table or for JSON (timestamps as ISO 8601
strings): posts, the tip library, the public's comments — one module each."""
