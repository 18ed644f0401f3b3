"""What the platforms say back: counts and followers, the public's comments, emergency alerts."""
